//! In-guest diagnostics: the parser on recorded outputs of the command document (the emulator's Run Command only
//! ever returns an empty Success), redaction of secrets from everything that reaches the facts, the document's
//! contract with the parser, and property tests that hostile or cut output never panics.

use std::path::{Path, PathBuf};

use ec2ops::config::Language;
use ec2ops::diagnostics::{
    parse, redact, CpuSample, Diagnostics, MissingWhy, Process, END_SECTION, REDACTED, SECTIONS,
    SSM_STDOUT_LIMIT_CHARS,
};
use ec2ops::report::evidence::process;
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/diagnostics")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn document_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ssm-diagnostics.yaml")
}

fn json(d: &Diagnostics) -> String {
    serde_json::to_string(d).expect("diagnostics serialize")
}

/// Every secret planted in `secrets-in-command-lines.txt` and `truncated-at-24000.txt`.
const SECRETS: &[&str] = &[
    "S3cr3t!",
    "hunter2-Prod",
    "Pg-Passw0rd",
    "AKIAIOSFODNN7EXAMPLE",
    "IOSFODNN7E",
    "wJalrXUtnFEMI",
    "bPxRfiCYEXAMPLEKEY",
    "eyJhbGciOiJIUzI1NiJ9",
    "c2lnbmF0dXJlX3NlY3JldA",
    "Spr1ngS3cret",
    "ghp_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbAa",
    "R3disPassw0rd",
    "SshP@ss1",
    "ASIAY34FZKBOKMUTVV7A",
];

/// Found by the planted-secret property: a program name that is itself masked as the value of a secret-named flag
/// before it still names the program, so its attached `-pSECRET` is masked too; and masking twice changes nothing.
#[test]
fn a_program_masked_as_a_flags_value_still_has_its_password_masked() {
    for line in [
        "--password mysql -u app -pZq%%^aPw orders",
        "--token curl -u deploy:Zq%%^aPw https://example.com",
        "--secret sshpass -p Zq%%^aPw ssh host",
    ] {
        let out = redact(line);
        assert!(!out.contains("Zq%%^aPw"), "{line:?} -> {out:?}");
        assert_eq!(redact(&out), out, "{line:?}");
    }
}

#[test]
fn a_cpu_bound_java_process_tops_top_s_current_sample_with_its_whole_command() {
    let d = parse(&fixture("cpu-bound-java.txt"));
    assert!(d.missing.is_empty(), "{:?}", d.missing);
    assert!(!d.truncated);
    assert_eq!(d.uptime_secs, Some(1_209_642));
    let load = d.load.expect("load");
    assert_eq!((load.one, load.five, load.fifteen), (2.31, 2.18, 2.05));
    // top's second iteration: the last second's CPU, not ps's average since each process started.
    assert_eq!(d.top_cpu_sample, CpuSample::Current);
    let java = &d.top_cpu[0];
    assert_eq!(java.pid, 4242);
    assert_eq!(java.user, "app");
    assert_eq!(java.cpu_percent, 97.3);
    assert_eq!(java.mem_percent, 28.7);
    // top scales RES (`2.2g`); top lists no start time.
    assert_eq!(java.rss_kib, (2.2 * 1024.0 * 1024.0) as u64);
    assert_eq!(java.elapsed_secs, None);
    assert!(java
        .command
        .starts_with("/usr/lib/jvm/java-17-amazon-corretto/bin/java -Xms2g"));
    assert!(java
        .command
        .ends_with("-jar /opt/orders/orders-service.jar"));
    assert_eq!(java.program(), "java orders-service.jar");
    assert_eq!(d.top_cpu.len(), 9);
    assert!(d
        .top_cpu
        .windows(2)
        .all(|w| w[0].cpu_percent >= w[1].cpu_percent));
    // The memory list is still ps's, with its lifetime figures.
    assert_eq!(d.top_memory[0].pid, 4242);
    assert_eq!(d.top_memory[0].rss_kib, 2_256_780);
    assert_eq!(d.top_memory[0].elapsed_secs, Some(15_842));
    let memory = d.memory.expect("memory");
    assert_eq!(
        (memory.total_mib, memory.used_mib, memory.available_mib),
        (7686, 2950, Some(4462))
    );
    assert_eq!(d.root_filesystem().map(|f| f.used_percent), Some(50));
    assert!(d.oom_kills.is_empty() && d.kernel_errors.is_empty());
}

#[test]
fn busybox_top_s_second_sample_reads_as_the_current_cpu_use() {
    let out = "=== top-cpu ===
  PID  PPID USER     STAT   VSZ %VSZ CPU %CPU COMMAND
  611     1 nobody   R     9012   2%   0  88% /usr/bin/python3 /opt/jobs/rebuild_index.py --all
  702   690 root     R     1580   0%   1   1% top -b -n 2 -d 1
    1     0 root     S     1576   0%   0   0% init
=== end ===
";
    let d = parse(out);
    assert_eq!(d.top_cpu_sample, CpuSample::Current);
    assert_eq!(d.top_cpu.len(), 2, "the probe is left out: {:?}", d.top_cpu);
    assert_eq!(d.top_cpu[0].pid, 611);
    assert_eq!(d.top_cpu[0].user, "nobody");
    assert_eq!(d.top_cpu[0].program(), "python3 rebuild_index.py");
}

#[test]
fn ps_without_a_working_top_reads_as_the_average_since_start() {
    let d = parse(&fixture("minimal-host.txt"));
    assert_eq!(d.top_cpu_sample, CpuSample::SinceStart);
    let d = parse(&fixture("memory-exhausted-oom.txt"));
    assert_eq!(d.top_cpu_sample, CpuSample::SinceStart);
}

#[test]
fn a_long_command_line_cut_in_the_report_keeps_its_jar_or_script_name() {
    let long_options = (0..40)
        .map(|i| format!("-Dorders.setting{i}=value{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let java = format!(
        "/usr/bin/java -Xmx2g -cp /opt/app/lib/* {long_options} -jar /opt/app/orders-service.jar --spring.profiles.active=prod"
    );
    for (command, program) in [
        (java.as_str(), "java orders-service.jar"),
        (
            "/usr/bin/python3 -u -W ignore /srv/jobs/nightly_export.py --since 7d",
            "python3 nightly_export.py",
        ),
        ("python3.11 -m celery worker -A tasks", "python3.11 celery"),
        (
            "node --max-old-space-size=4096 /srv/api/server.js",
            "node server.js",
        ),
        ("bash -c 'while true; do :; done'", "bash"),
        ("/usr/sbin/nginx -g daemon off;", "nginx"),
        ("[kswapd0]", "[kswapd0]"),
    ] {
        let p = Process {
            pid: 4242,
            user: "app".into(),
            cpu_percent: 97.3,
            mem_percent: 28.7,
            rss_kib: 2_256_780,
            elapsed_secs: None,
            command: command.into(),
        };
        assert_eq!(p.program(), program, "{command}");
        let line = process(&p, CpuSample::Current, Language::En);
        assert!(line.starts_with(program), "{line}");
        assert!(line.contains("97.3% CPU now (1 s sample)"), "{line}");
        assert!(line.chars().count() < 260, "{line}");
    }
    let p = Process {
        pid: 1,
        user: "app".into(),
        cpu_percent: 3.0,
        mem_percent: 1.0,
        rss_kib: 1,
        elapsed_secs: Some(3600),
        command: java.clone(),
    };
    let line = process(&p, CpuSample::SinceStart, Language::En);
    assert!(line.contains("3.0% CPU (average since start)"), "{line}");
    assert!(line.contains("orders-service.jar"), "{line}");
    assert!(line.ends_with('…'), "the cut is marked: {line}");
}

#[test]
fn a_memory_exhausted_host_reports_its_oom_kills_with_the_victims() {
    let d = parse(&fixture("memory-exhausted-oom.txt"));
    assert!(d.missing.is_empty(), "{:?}", d.missing);
    let memory = d.memory.expect("memory");
    assert_eq!(memory.available_mib, Some(48));
    assert_eq!(memory.swap_total_mib, Some(0));
    assert!(memory.available_percent().is_some_and(|p| p < 1.0));
    let victims: Vec<_> = d
        .oom_kills
        .iter()
        .map(|k| (k.pid, k.process.as_deref()))
        .collect();
    assert_eq!(
        victims,
        [
            (Some(29311), Some("node")),
            (Some(29702), Some("node")),
            (Some(29850), Some("python3")),
        ]
    );
    assert!(d.oom_kills[0]
        .line
        .starts_with("2025-03-04T09:41:07+0000 ip-10-0-4-17 kernel: Out of memory"));
    assert_eq!(d.kernel_errors.len(), 3);
    assert_eq!(d.top_memory[0].pid, 30188);
    assert_eq!(d.top_memory[0].rss_kib, 4_918_236);
    assert_eq!(d.top_cpu[0].command, "[kswapd0]");
}

#[test]
fn a_full_root_filesystem_reads_as_one_hundred_percent_with_nothing_available() {
    let d = parse(&fixture("root-filesystem-full.txt"));
    assert!(d.missing.is_empty(), "{:?}", d.missing);
    let root = d.root_filesystem().expect("root filesystem");
    assert_eq!(root.device, "/dev/nvme0n1p1");
    assert_eq!(root.used_percent, 100);
    assert_eq!(root.available_mib, 0);
    assert_eq!(root.size_mib, 31_444_972 / 1024);
    assert_eq!(d.fullest_filesystem().map(|f| f.mount.as_str()), Some("/"));
    // A mount point with a space in it stays whole.
    assert!(d
        .filesystems
        .iter()
        .any(|f| f.mount == "/var/lib/app data" && f.used_percent == 43));
    assert_eq!(d.filesystems.len(), 3);
    let memory = d.memory.expect("memory");
    assert_eq!(
        (memory.swap_total_mib, memory.swap_used_mib),
        (Some(1023), Some(18))
    );
    assert!(d.kernel_errors[1].contains("Detected aborted journal"));
}

#[test]
fn no_planted_secret_survives_anywhere_in_the_parsed_facts() {
    for name in ["secrets-in-command-lines.txt", "truncated-at-24000.txt"] {
        let out = json(&parse(&fixture(name)));
        for secret in SECRETS {
            assert!(!out.contains(secret), "{name}: {secret} leaked in {out}");
        }
    }
}

#[test]
fn redacted_command_lines_keep_everything_but_the_secrets() {
    let d = parse(&fixture("secrets-in-command-lines.txt"));
    assert!(d.missing.is_empty(), "{:?}", d.missing);
    let commands: Vec<&str> = d.top_cpu.iter().map(|p| p.command.as_str()).collect();
    assert_eq!(
        commands,
        [
            "mysqldump -h db.internal -u admin -p*** --single-transaction orders",
            "mysql -h db.internal -u admin -p*** orders",
            "/usr/bin/python3 /opt/sync/sync.py --password=*** --db-url postgres://sync:***@db.internal:5432/sync",
            "/usr/local/bin/uploader --access-key *** --secret-key *** --region eu-west-1",
            "curl -s -H Authorization: Bearer *** https://api.internal/v1/health",
            "/usr/bin/java -Dspring.datasource.password=*** -Dserver.port=8080 -jar /opt/app/app.jar",
            "node /srv/bot/index.js --token ***",
            "redis-cli -h cache.internal -a *** --no-auth-warning monitor",
            "sshpass -p *** rsync -a /var/backups backup@10.0.3.4:/srv/backups",
            "env AWS_SECRET_ACCESS_KEY=*** AWS_ACCESS_KEY_ID=ASIA*** aws s3 sync /var/backups s3://backups",
        ]
    );
    assert_eq!(
        d.top_memory.last().map(|p| p.command.as_str()),
        Some("/bin/sh -c aws configure set aws_secret_access_key ***")
    );
    assert_eq!(
        d.kernel_errors,
        [
            "2025-03-04T10:20:13+0000 ip-10-0-7-11 kernel: audit: backlog limit exceeded; \
             proctitle=\"mysql -u admin -p*** orders\" token=***"
        ]
    );
}

/// Every secret planted in `secrets-more-forms.txt`: curl and registry logins, Oracle logins, a PEM key, bare
/// tokens by shape, cookies and a presigned URL's signature.
const MORE_SECRETS: &[&str] = &[
    "Curl-Pa55",
    "UserPa55word",
    "C00kieSess",
    "Csrf70ken",
    "D0ckerPa55",
    "P0dmanPa55",
    "T1gerPw",
    "0racleJdbc",
    "MIIEpAIBAAKCAQEA7bq9PemKey0nCmdLine",
    "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
    "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "Xy1Zw2Vu3Ts4Rq5Po6Nm",
    "51HxYzAbCdEfGhIjKlMnOpQr",
    "SyD-1234567890abcdefghijklmnopqrstu",
    "CAESIJ7Q2X9wZpLmNoPqRsTuVwXyZ012345",
    "Ab12Cd34Ef56Gh78Ij90Kl12",
    "5e1f0c2d3b4a69788f7e6d5c4b3a29181f0e1d2c3b4a5968778695a4b3c2d1e0",
    "IOSFODNN7EXAMPLE",
    "Exp0rtPw",
];

#[test]
fn no_secret_of_the_newer_forms_survives_anywhere_in_the_parsed_facts() {
    let out = json(&parse(&fixture("secrets-more-forms.txt")));
    for secret in MORE_SECRETS {
        assert!(!out.contains(secret), "{secret} leaked in {out}");
    }
}

#[test]
fn newer_secret_forms_are_masked_and_everything_around_them_kept() {
    let d = parse(&fixture("secrets-more-forms.txt"));
    assert!(d.missing.is_empty(), "{:?}", d.missing);
    let mut commands: Vec<&str> = d.top_cpu.iter().map(|p| p.command.as_str()).collect();
    commands.extend(d.top_memory.iter().map(|p| p.command.as_str()));
    assert_eq!(
        commands,
        [
            "curl -s -u deploy:*** -o /tmp/app.tgz https://artifacts.internal/app.tgz",
            "curl --user ops:*** -H 'Cookie: ***' https://app.internal/health",
            "docker login -u ci -p *** registry.internal:5000",
            "podman login --password *** quay.io",
            "sqlplus -s scott/***@ORCLPDB1 @/opt/jobs/nightly.sql",
            "java -Ddb.url=jdbc:oracle:thin:app/***@//db.internal:1521/ORCL -jar /opt/billing/billing.jar",
            "/opt/agent/bin/agent --private-key -----BEGIN RSA PRIVATE KEY----- *** -----END RSA PRIVATE KEY----- \
             --port 7443",
            "node /srv/release/index.js ghp_*** github_pat_***",
            "/usr/local/bin/slackbot --channel ops xoxb-***",
            "/usr/local/bin/gitlab-sync glpat-*** sk_live_*** AIza***",
            // top-mem
            "java -Ddb.url=jdbc:oracle:thin:app/***@//db.internal:1521/ORCL -jar /opt/billing/billing.jar",
            "vault agent -config=/etc/vault/agent.hcl hvs.***",
            "envconsul -once s.*** /opt/app/run.sh",
            "wget -q https://backups.s3.amazonaws.com/db.tgz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***\
             &X-Amz-Date=20250304T101500Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=***",
            // Not secrets: a published port, a dump file path; the login after them is.
            "docker run -d -p 8080:80 --name web nginx",
            "expdp system directory=DP_DIR dumpfile=/u01/exp/full.dmp userid=system/***@ORCL",
        ]
    );
    assert_eq!(
        d.kernel_errors,
        [
            "2025-03-04T10:21:07+0000 ip-10-0-9-12 kernel: audit: backlog limit exceeded; \
             proctitle=\"docker login -p *** registry.internal:5000\"",
            "2025-03-04T10:21:08+0000 ip-10-0-9-12 app[30102]: request failed: Cookie: *** path=/health status=502",
        ]
    );
}

#[test]
fn output_cut_at_24000_characters_keeps_what_arrived_and_names_what_did_not() {
    let text = fixture("truncated-at-24000.txt");
    assert_eq!(text.chars().count(), SSM_STDOUT_LIMIT_CHARS);
    let d = parse(&text);
    assert!(d.truncated);
    assert_eq!(
        d.missing
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "top-mem: output cut short",
            "oom: output cut short",
            "kernel-errors: output cut short"
        ]
    );
    assert_eq!(d.uptime_secs, Some(1_209_642));
    assert_eq!(d.top_cpu.len(), 10);
    assert_eq!(d.top_cpu[0].cpu_percent, 96.8);
    // Class paths thousands of characters long are cut to 400, marked.
    assert!(d
        .top_cpu
        .iter()
        .all(|p| p.command.chars().count() <= 400 && p.command.ends_with('…')));
    // The line the cut went through is kept, its half access key id masked.
    let deployer = d
        .top_memory
        .iter()
        .find(|p| p.pid == 6001)
        .expect("deployer");
    assert!(
        deployer.command.ends_with("--access-key-id AKIA***"),
        "{}",
        deployer.command
    );
}

#[test]
fn a_minimal_host_falls_back_to_proc_and_names_the_sections_it_could_not_collect() {
    let d = parse(&fixture("minimal-host.txt"));
    assert!(!d.truncated);
    assert_eq!(
        d.missing
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "top-mem: ps failed",
            "oom: no journalctl or dmesg",
            "kernel-errors: no dmesg --level or journalctl"
        ]
    );
    assert_eq!(d.uptime_secs, Some(3 * 86_400 + 4 * 3600 + 5 * 60));
    assert_eq!(d.load.map(|l| l.one), Some(0.08));
    let memory = d.memory.expect("memory from /proc/meminfo");
    assert_eq!(memory.total_mib, 494_212 / 1024);
    assert_eq!(memory.used_mib, (494_212 - 61_244 - 8_120 - 90_112) / 1024);
    assert_eq!(memory.available_mib, None);
    assert_eq!(d.filesystems[0].size_mib, 7_931_580 / 1024);
    assert_eq!(d.filesystems[0].used_percent, 42);
    assert_eq!(
        d.top_cpu[0].elapsed_secs,
        Some(2 * 86_400 + 3 * 3600 + 14 * 60 + 9)
    );
}

#[test]
fn an_empty_output_like_the_emulators_lists_every_section_as_missing() {
    let d = parse("");
    assert!(d.is_empty());
    assert!(!d.truncated);
    let expected: Vec<String> = SECTIONS
        .iter()
        .map(|s| format!("{s}: not in output"))
        .collect();
    assert_eq!(
        d.missing
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        expected
    );
}

#[test]
fn garbage_gives_missing_sections_and_no_panic() {
    for input in [
        "\u{0}\u{1}\u{7f}\u{fffd}garbage\r\n\r\n",
        "=== uptime\n=== ===\n==== disk ====\n",
        "sh: 1: syntax error: unexpected \"(\"\n",
        "=== uptime ===\nnan inf\n=== loadavg ===\n-1 -2 -3\n=== memory ===\nMem: x y z\n=== disk ===\n\
         Filesystem\n/dev/x 1 2 3 999999%\n=== top-cpu ===\nPID\n=== end ===\n",
    ] {
        let d = parse(input);
        assert!(d.is_empty(), "{input:?} gave {d:?}");
        assert!(d.missing.len() >= 5, "{input:?} gave {:?}", d.missing);
    }
}

#[test]
fn a_section_present_but_unreadable_is_named_as_such() {
    let d = parse("=== uptime ===\nnot a number\n=== disk ===\ndf: cannot read table of mounted file systems\n");
    assert!(d.truncated);
    let missing: Vec<String> = d.missing.iter().map(ToString::to_string).collect();
    assert!(missing.contains(&"uptime: unreadable".to_string()));
    assert!(missing.contains(&"disk: output cut short".to_string()));
    assert!(missing.contains(&"loadavg: output cut short".to_string()));
}

#[test]
fn a_repeated_section_keeps_the_first_occurrence() {
    let d = parse("=== uptime ===\n100.5 1\n=== uptime ===\n999 1\n=== end ===\n");
    assert_eq!(d.uptime_secs, Some(100));
}

#[test]
fn counts_at_the_edge_of_u64_saturate_rather_than_overflow() {
    // Found by review: the uptime clock (`h * 3600`), the /proc/meminfo sum (MemFree + Buffers + Cached) and df's
    // block size (`K * 1024`) multiplied and added numbers read from the instance without a check.
    let max = u64::MAX;
    let d = parse(&format!(
        "=== uptime ===\n 10:12:01 up {max}:59,  1 user,  load average: 0.00, 0.01, 0.05\n\
         === memory ===\nMemTotal: {max} kB\nMemFree: {max} kB\nBuffers: {max} kB\nCached: {max} kB\n\
         === disk ===\nFilesystem {max}K-blocks Used Available Capacity Mounted on\n\
         /dev/x {max} {max} 1 100% /\n=== end ===\n"
    ));
    assert_eq!(d.uptime_secs, Some(max));
    let memory = d.memory.expect("memory");
    assert_eq!((memory.total_mib, memory.used_mib), (max / 1024, 0));
    // An unreadable block size falls back to df's default of 1024 bytes.
    let root = d.root_filesystem().expect("root");
    assert_eq!(root.size_mib, max / 1024);

    let d = parse(&format!(
        "=== disk ===\nFilesystem {max}-blocks Used Available Capacity Mounted on\n/dev/x {max} 1 1 1% /\n"
    ));
    assert_eq!(d.root_filesystem().map(|f| f.size_mib), Some(max));
}

#[test]
fn diagnostics_survive_a_json_round_trip() {
    let d = parse(&fixture("memory-exhausted-oom.txt"));
    let back: Diagnostics = serde_json::from_str(&json(&d)).expect("deserialize");
    assert_eq!(back, d);
}

// One table, a case per documented form (docs/diagnostics.md): its length is the list of forms.
#[test]
fn redaction_masks_each_documented_form() {
    let cases = [
        ("mysql -uroot -pS3cr3t! db", "mysql -uroot -p*** db"),
        (
            "/usr/bin/mysqladmin -pS3cr3t! status",
            "/usr/bin/mysqladmin -p*** status",
        ),
        ("sh -c 'mysql -pS3cr3t! db'", "sh -c 'mysql -p*** db'"),
        ("psql -p5432 -U app", "psql -p*** -U app"),
        ("mysql -p orders", "mysql -p orders"),
        (
            "app --password=hunter2 --user bob",
            "app --password=*** --user bob",
        ),
        (
            "app --password hunter2 --user bob",
            "app --password *** --user bob",
        ),
        ("psql --password --host db", "psql --password --host db"),
        ("app --token=abc", "app --token=***"),
        ("app --api-key abc", "app --api-key ***"),
        ("app api_key=abc apikey=def", "app api_key=*** apikey=***"),
        (
            "app passwd=a pwd=b secret=c",
            "app passwd=*** pwd=*** secret=***",
        ),
        ("app access_key=a key=b", "app access_key=*** key=***"),
        (
            "app --key-file=/etc/k.pem token_type=bearer",
            "app --key-file=/etc/k.pem token_type=bearer",
        ),
        (
            "DB_PASSWORD=x MYSQL_PWD=y PGPASSWORD=z run",
            "DB_PASSWORD=*** MYSQL_PWD=*** PGPASSWORD=*** run",
        ),
        (
            "-Djavax.net.ssl.keyStorePassword=changeit",
            "-Djavax.net.ssl.keyStorePassword=***",
        ),
        (
            r#"{"token":"abc","user":"bob"}"#,
            r#"{"token":"***","user":"bob"}"#,
        ),
        ("X-Api-Key: abc123 next", "X-Api-Key: *** next"),
        (
            "Authorization: Bearer abc.def.ghi",
            "Authorization: Bearer ***",
        ),
        (
            "-H 'Authorization: Basic dXNlcjpwYXNz'",
            "-H 'Authorization: Basic ***'",
        ),
        ("Authorization: rawtoken123", "Authorization: ***"),
        (
            r#""Authorization": "Bearer abc""#,
            r#""Authorization": "Bearer ***""#,
        ),
        ("got bearer xyz from", "got bearer *** from"),
        (
            "postgres://app:S3cr3t@db:5432/x",
            "postgres://app:***@db:5432/x",
        ),
        (
            "https://ghp_abcdefghijklmnop12@github.com/o/r",
            "https://***@github.com/o/r",
        ),
        ("https://bob@example.com/", "https://bob@example.com/"),
        ("http://host:8080/path", "http://host:8080/path"),
        ("id AKIAIOSFODNN7EXAMPLE,", "id AKIA***,"),
        ("ASIAY34FZKBOKMUTVV7A", "ASIA***"),
        ("XAKIAIOSFODNN7EXAMPLE", "XAKIAIOSFODNN7EXAMPLE"),
        ("ASIAN markets", "ASIAN markets"),
        ("cut AKIAIOSFODNN", "cut AKIA***"),
        ("cut AKIAIOSFOD", "cut AKIAIOSFOD"),
        (
            "aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws configure set aws_secret_access_key ***",
        ),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG",
            "aws_secret_access_key = ***",
        ),
        ("sshpass -pSshP@ss1 ssh host", "sshpass -p*** ssh host"),
        ("redis-cli -aR3dis ping", "redis-cli -a*** ping"),
        (
            "openssl enc -pass pass:Xyz123 -in f",
            "openssl enc -pass *** -in f",
        ),
        ("plink -pw Secret1 host", "plink -pw *** host"),
        ("ssh -p2222 host", "ssh -p2222 host"),
        ("curl -u user:pass https://x", "curl -u user:*** https://x"),
        ("curl -uuser:pass https://x", "curl -uuser:*** https://x"),
        ("curl --user=u:p https://x", "curl --user=u:*** https://x"),
        ("curl -U proxy:pw https://x", "curl -U proxy:*** https://x"),
        ("curl -u 'a:b c' https://x", "curl -u 'a:*** c' https://x"),
        ("curl -u admin https://x", "curl -u admin https://x"),
        ("curl -b 'sid=abc' https://x", "curl -b *** https://x"),
        (
            "curl -b cookies.txt https://x",
            "curl -b cookies.txt https://x",
        ),
        ("docker login -p X reg", "docker login -p *** reg"),
        (
            "docker login --password X reg",
            "docker login --password *** reg",
        ),
        ("docker login -pX reg", "docker login -p*** reg"),
        ("docker run -p 80:80 img", "docker run -p 80:80 img"),
        ("sqlplus scott/tiger@db", "sqlplus scott/***@db"),
        ("sqlplus scott/tiger", "sqlplus scott/***"),
        ("sqlplus /nolog", "sqlplus /nolog"),
        (
            "sqlplus \"sys/Pw1@db as sysdba\"",
            "sqlplus \"sys/***@db as sysdba\"",
        ),
        (
            "url=jdbc:oracle:thin:scott/tiger@//h:1521/s",
            "url=jdbc:oracle:thin:scott/***@//h:1521/s",
        ),
        (
            "-----BEGIN PRIVATE KEY----- abc def -----END PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY----- *** -----END PRIVATE KEY-----",
        ),
        (
            "--key -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXk",
            "--key -----BEGIN OPENSSH PRIVATE KEY----- ***",
        ),
        (
            "-----BEGIN CERTIFICATE----- MIIB -----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE----- MIIB -----END CERTIFICATE-----",
        ),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_***"),
        ("xoxp-1234-5678-abcdef", "xoxp-***"),
        ("key glpat-abcdefghij0123456789", "key glpat-***"),
        ("sk_live_0123456789abcdefXY", "sk_live_***"),
        ("AIzaSyA-bcdefghijklmnopqrstuvwxyz012345", "AIza***"),
        ("token hvs.abcdefghijklmnopqrstuvwx12", "token hvs.***"),
        ("run s.Ab12Cd34Ef56Gh78Ij90Kl12 now", "run s.*** now"),
        ("H: Cookie: a=1; b=2 next", "H: Cookie: *** next"),
        (
            r#"{"Cookie": "a=1; b=2", "x": 1}"#,
            r#"{"Cookie": "***", "x": 1}"#,
        ),
        (
            "-H \"Set-Cookie: id=a3fWa; Max-Age=2592000\" x",
            "-H \"Set-Cookie: ***\" x",
        ),
        (
            "u?X-Amz-Signature=abc123&X-Amz-Date=20250101T000000Z",
            "u?X-Amz-Signature=***&X-Amz-Date=20250101T000000Z",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(redact(input), expected, "redact({input:?})");
    }
}

#[test]
fn redaction_leaves_ordinary_command_lines_untouched() {
    for line in [
        "/usr/lib/systemd/systemd --switched-root --system --deserialize 31",
        "/usr/sbin/sshd -D [listener] 0 of 10-100 startups",
        "nginx: worker process",
        "2025-03-04T10:03:55+0000 ip-10-0-4-17 kernel: Out of memory: Killed process 29850 (python3)",
        "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent -config /opt/aws/x.toml",
        "java -Xmx2g -jar /opt/app.jar --server.port=8080",
        // Look like the newer forms, but are not secrets.
        "java -cp s.jar:lib/s.abcdefghijklmnopqrstuvwx org.example.Main",
        "host s.abcdefghijklmnopqrstuvwx.example.com is up",
        "docker run -d -p 8080:80 -u 1000:1000 nginx",
        "curl -u admin https://example.com/",
        "expdp system directory=DP_DIR dumpfile=/u01/exp/full.dmp",
        "sqlplus @/opt/jobs/nightly.sql",
        "cookie_jar=/var/lib/app/cookies.txt",
        "ghp_short gho_ xoxb- AIza",
        "the process s.run failed",
    ] {
        assert_eq!(redact(line), line);
    }
}

/// The script inside the document (the `runCommand` block), read without a YAML dependency: the lines indented
/// under `- |`.
fn document_script(document: &str) -> String {
    let mut lines = document.lines().skip_while(|l| l.trim() != "runCommand:");
    let start = lines
        .by_ref()
        .find(|l| l.trim() == "- |")
        .expect("runCommand block");
    let indent = start.len() - start.trim_start().len() + 2;
    lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_document_is_a_parameterless_shell_document_printing_every_section_the_parser_reads() {
    let document = std::fs::read_to_string(document_path()).expect("docs/ssm-diagnostics.yaml");
    assert!(document.contains("schemaVersion: \"2.2\""));
    assert!(document.contains("action: aws:runShellScript"));
    // No parameters and no interpolation: event data can never become shell text.
    assert!(!document.contains("parameters:"));
    assert!(!document.contains("{{"));
    let script = document_script(&document);
    for name in SECTIONS.iter().chain([&END_SECTION]) {
        assert!(
            script
                .lines()
                .any(|l| l.trim() == format!("section {name}")),
            "the document prints no section {name}"
        );
    }
    let order: Vec<usize> = SECTIONS
        .iter()
        .chain([&END_SECTION])
        .filter_map(|name| script.find(&format!("\nsection {name}\n")))
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "sections out of order"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn the_document_runs_under_posix_sh_here_and_parses_complete_within_the_output_bound() {
    let document = std::fs::read_to_string(document_path()).expect("docs/ssm-diagnostics.yaml");
    let script = document_script(&document);
    let output = match std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
    {
        Ok(output) => output,
        Err(e) => {
            eprintln!("skipped: no sh to run the document ({e})");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.len() < 20_000, "{} bytes", stdout.len());
    let d = parse(&stdout);
    assert!(!d.truncated, "{stdout}");
    assert!(
        d.missing
            .iter()
            .all(|m| !matches!(m.why, MissingWhy::NotInOutput | MissingWhy::Unreadable)),
        "{:?}\n{stdout}",
        d.missing
    );
    assert!(d.uptime_secs.is_some() && d.load.is_some(), "{stdout}");
}

/// Lines the parser reacts to, mixed with noise, so generated outputs reach every branch.
fn output_line() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            SECTIONS
                .iter()
                .chain([&END_SECTION])
                .map(|s| format!("=== {s} ==="))
                .collect::<Vec<_>>()
        ),
        Just("    PID USER     %CPU %MEM   RSS ELAPSED COMMAND".to_string()),
        Just(
            "    PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND"
                .to_string()
        ),
        "[ 0-9]{1,8} [a-z]{1,8} 20 0 [0-9]{1,8} [0-9.]{1,8}[mgt]? [0-9]{1,6} [RS] [0-9.]{1,6} [0-9.]{1,5} [0-9:.]{1,9} .{0,60}",
        Just("Filesystem     1024-blocks    Used Available Capacity Mounted on".to_string()),
        Just(
            "               total        used        free      shared  buff/cache   available"
                .to_string()
        ),
        "Mem: [0-9 ]{0,30}",
        "MemTotal: [0-9]{0,25} kB",
        "[0-9 .:/-]{0,40}",
        "!! unavailable: .{0,20}",
        "[ 0-9]{1,8} [a-z]{1,8} [0-9.]{1,6} [0-9.]{1,5} [0-9]{1,12} [0-9:-]{1,12} .{0,60}",
        // Counts at the edge of u64, where unchecked arithmetic on them overflowed.
        "(MemTotal|MemFree|Buffers|Cached|MemAvailable|SwapTotal|SwapFree): (1844674407370955161[0-5]|[0-9]{1,20}) kB",
        " [0-9]{2}:[0-9]{2}:[0-9]{2} up (1844674407370955161[0-5]|[0-9]{1,20}) (days|min|hrs)?, *(1844674407370955161[0-5]|[0-9]{1,20}):[0-9]{1,20}, +1 user",
        "Filesystem +(1844674407370955161[0-5]|[0-9]{1,20})[KM]?-blocks +Used Available Capacity Mounted on",
        "/dev/[a-z0-9]{1,8} [0-9]{1,22} [0-9]{1,22} [0-9]{1,22} [0-9]{1,4}% .{0,20}",
        ".{0,80}",
    ]
}

/// A secret that must not survive, in a form each rule is meant to catch.
fn planted_secret() -> impl Strategy<Value = (String, String)> {
    let value = "Zq[A-Za-z0-9!@#%^&*_+.-]{6,18}";
    let token68 = "Zq[A-Za-z0-9._~+/-]{6,30}";
    prop_oneof![
        value.prop_map(|s| (format!("mysql -u app -p{s} orders"), s)),
        value.prop_map(|s| (format!("mysqldump -h db --password={s} x"), s)),
        value.prop_map(|s| (format!("run --token {s} --verbose"), s)),
        value.prop_map(|s| (format!("env API_KEY={s} app"), s)),
        value.prop_map(|s| (format!("sshpass -p {s} ssh host"), s)),
        token68.prop_map(|s| (format!("curl -H Authorization: Bearer {s} https://x"), s)),
        "Zq[A-Za-z0-9!*_.~-]{6,18}".prop_map(|s| (format!("db postgres://u:{s}@h:5432/d"), s)),
        "[A-Z0-9]{16}".prop_map(|s| (format!("k AKIA{s} x"), format!("AKIA{s}"))),
        value.prop_map(|s| (format!("curl -u user:{s} https://x"), s)),
        value.prop_map(|s| (format!("docker login -u ci -p {s} reg"), s)),
        "Zq[A-Za-z0-9!*_.~-]{6,18}".prop_map(|s| (format!("sqlplus scott/{s}@db"), s)),
        "Zq[A-Za-z0-9!*_.~-]{6,18}"
            .prop_map(|s| (format!("u=jdbc:oracle:thin:app/{s}@//h:1521/x"), s)),
        "Zq[A-Za-z0-9+/=]{20,60}".prop_map(|s| (
            format!("--key -----BEGIN RSA PRIVATE KEY----- {s} -----END RSA PRIVATE KEY-----"),
            s
        )),
        "Zq[A-Za-z0-9]{34}".prop_map(|s| (format!("run ghp_{s}"), s)),
        "Zq[A-Za-z0-9]{21}".prop_map(|s| (format!("run s.{s}1"), s)),
        "Zq[A-Za-z0-9-]{10,40}".prop_map(|s| (format!("bot xoxb-{s}"), s)),
        "Zq[A-Za-z0-9=_-]{6,30}".prop_map(|s| (format!("-H 'Cookie: sid={s}; x=1' https://x"), s)),
        "Zq[0-9a-f]{30,62}"
            .prop_map(|s| (format!("https://b/k?X-Amz-Signature={s}&X-Amz-Date=1"), s)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic_the_parser(input in ".{0,2000}") {
        let d = parse(&input);
        prop_assert!(d.missing.len() <= SECTIONS.len());
    }

    #[test]
    fn section_shaped_output_never_panics_and_stays_bounded(
        lines in proptest::collection::vec(output_line(), 0..80),
        cut in 0usize..30_000,
    ) {
        let text = lines.join("\n");
        let text: String = text.chars().take(cut).collect();
        let d = parse(&text);
        prop_assert!(d.top_cpu.len() <= 20 && d.top_memory.len() <= 20);
        prop_assert!(d.filesystems.len() <= 50);
        prop_assert!(d.top_cpu.iter().all(|p| p.command.chars().count() <= 400));
        // What the facts hold must travel as JSON (no NaN or infinity slips in) and read back.
        prop_assert!(serde_json::from_str::<Diagnostics>(&json(&d)).is_ok());
    }

    #[test]
    fn redaction_never_grows_a_string_more_than_twice_and_is_stable(input in ".{0,400}") {
        let once = redact(&input);
        prop_assert!(once.len() <= 2 * input.len() + REDACTED.len(), "{:?} -> {:?}", input, once);
        prop_assert_eq!(redact(&once), once.clone());
    }

    #[test]
    fn redaction_growth_stays_bounded_on_secret_dense_text(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "pw=a", "key:b", " -pc", "mysql", " --token ", "Bearer ", "://u:p@", "AKIA", "Authorization: ",
                "\"", "'", " ", "=", ":", "x",
                // The newer forms' triggers.
                "curl", " -u ", "a:b", "docker", " login", "sqlplus", "u/p@", "jdbc:oracle:thin:", "Cookie: ", ";",
                "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "ghp_", "s.", "A1b2C3d4E5f6",
                "?X-Amz-Signature=", "&",
            ]),
            0..200,
        ),
    ) {
        let input = parts.concat();
        let once = redact(&input);
        prop_assert!(once.len() <= 2 * input.len() + REDACTED.len(), "{:?} -> {:?}", input, once);
        prop_assert_eq!(redact(&once), once.clone());
    }

    #[test]
    fn a_planted_secret_never_survives_redaction(
        (line, secret) in planted_secret(),
        before in "[a-z /=.-]{0,30}",
        after in "[a-z /=.-]{0,30}",
    ) {
        let text = format!("{before} {line} {after}");
        let out = redact(&text);
        prop_assert!(!out.contains(&secret), "{:?} -> {:?}", text, out);
    }
}
