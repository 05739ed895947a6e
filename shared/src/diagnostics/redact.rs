//! Redaction: secrets masked in every command line and log line before they become facts.

use super::*;

/// Mask secrets in a command line or log line with `***`: values of password/secret/token/key/signature-like
/// `name=value` (ending at `&` in a URL query: `X-Amz-Signature=`), `name: value` and `--name value` arguments,
/// `-pSECRET` after mysql/psql-like programs and sshpass, `-a` after redis-cli, `-p` after `docker login` (and
/// podman, nerdctl, buildah, skopeo, helm, oras), the password of curl's `-u`/`--user`/`-U user:password`, Oracle's
/// `user/password@` (sqlplus and the other clients, `userid=`, `jdbc:oracle:thin:`), the value after
/// `aws_secret_access_key`/`aws_session_token`, `Authorization:` and `Bearer` credentials, `Cookie:` headers and
/// curl's `--cookie`/`-b`, URL user:password@, the body of a PEM private key, well-known token shapes (GitHub
/// `ghp_…`/`github_pat_…`, Slack `xoxb-…`, GitLab `glpat-…`, Stripe `sk_live_…`, Google `AIza…`, Vault `hvs.…` and
/// `s.` + 24), and AWS access key ids. Every rule swaps a non-empty value for three characters, so the output is
/// never more than about twice the input; applying it twice changes nothing more.
pub fn redact(text: &str) -> String {
    // A mask can make a word read differently to the next pass (`-u mysql://u:p@` becomes `-u mysql:***`, which
    // names a program whose `-p` is a password), so the rules run until nothing changes; each pass only masks
    // text not yet masked, so this ends within a few.
    let mut s = redact_once(text);
    for _ in 0..4 {
        let next = redact_once(&s);
        if next == s {
            break;
        }
        s = next;
    }
    s
}

pub(super) fn redact_once(text: &str) -> String {
    let s = redact_private_keys(text);
    let s = redact_url_userinfo(&s);
    let s = redact_oracle_urls(&s);
    let s = redact_authorization(&s);
    let s = redact_cookies(&s);
    let s = redact_assignments(&s);
    let s = redact_arguments(&s);
    let s = redact_tokens(&s);
    redact_access_key_ids(&s)
}

/// The body of `-----BEGIN … PRIVATE KEY-----` … `-----END … PRIVATE KEY-----` (a key passed on a command line or
/// logged), markers kept; a block cut before its end marker goes to the end of the text.
pub(super) fn redact_private_keys(s: &str) -> String {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find(BEGIN) {
        let label_start = from + i + BEGIN.len();
        let Some(close) = s[label_start..].find("-----") else {
            break;
        };
        let label = &s[label_start..label_start + close];
        let body_start = label_start + close + "-----".len();
        from = body_start;
        if !label.contains("PRIVATE KEY") || label.len() > 40 {
            continue;
        }
        let body_end = s[body_start..]
            .find(END)
            .map_or(s.len(), |p| body_start + p);
        let body = &s[body_start..body_end];
        let start = body_start + (body.len() - body.trim_start().len());
        let end = body_start + body.trim_end().len();
        if end > start && &s[start..end] != REDACTED {
            spans.push((start, end));
        }
        from = body_end.max(from);
    }
    splice(s, &spans)
}

/// `jdbc:oracle:thin:scott/tiger@//host:1521/svc` → `jdbc:oracle:thin:scott/***@//host:1521/svc`.
pub(super) fn redact_oracle_urls(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find("jdbc:oracle:") {
        let start = from + i + "jdbc:oracle:".len();
        let end = word_end(s, start);
        from = end.max(start);
        // Past the driver (`thin:`, `oci:`), the user/password before the first `@`.
        let Some(driver) = s[start..end].find(':') else {
            continue;
        };
        let login_start = start + driver + 1;
        let Some(at) = s[login_start..end].find('@') else {
            continue;
        };
        if let Some(span) = oracle_password(s, login_start, login_start + at) {
            spans.push(span);
        }
    }
    splice(s, &spans)
}

/// The password of an Oracle `user/password` between `start` and `end`: after the first `/`, when a user name (an
/// Oracle identifier, so not `dumpfile=/u01` or a path) is before it and a password after it.
pub(super) fn oracle_password(s: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let slash = s[start..end].find('/')?;
    let user = &s[start..start + slash];
    let identifier = user
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '#' | '"'));
    let (from, to) = (start + slash + 1, end);
    (!user.is_empty() && identifier && to > from && &s[from..to] != REDACTED).then_some((from, to))
}

/// Oracle's command-line clients, which take `user/password@connect` as an argument.
pub(super) fn is_oracle_client(program: &str) -> bool {
    matches!(
        program,
        "sqlplus"
            | "sqlplus64"
            | "sql"
            | "rman"
            | "expdp"
            | "impdp"
            | "exp"
            | "imp"
            | "sqlldr"
            | "dgmgrl"
    )
}

/// Container and registry clients whose `login -p` takes the password.
pub(super) fn is_registry_client(program: &str) -> bool {
    matches!(
        program,
        "docker" | "podman" | "nerdctl" | "buildah" | "skopeo" | "helm" | "oras"
    )
}

/// `Cookie:` and `Set-Cookie:` header values: to the closing quote when the header (or its value) is quoted, else
/// the words joined by `; `.
pub(super) fn redact_cookies(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find("cookie") {
        let at = from + i;
        let after = at + "cookie".len();
        from = after;
        if lower[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        // The quote the header was opened with: `'Cookie: …'`, `"Set-Cookie: …"`.
        let header_start = if lower[..at].ends_with("set-") {
            at - 4
        } else {
            at
        };
        let opened = s[..header_start]
            .chars()
            .next_back()
            .filter(|c| is_quote(*c));
        let rest = s[after..].trim_start_matches(is_quote);
        let Some(value) = rest.strip_prefix(':') else {
            continue;
        };
        let mut start = s.len() - value.len();
        start += s[start..].len() - s[start..].trim_start_matches([' ', '\t']).len();
        let Some(first) = s[start..].chars().next() else {
            continue;
        };
        let (from_, to) = if is_quote(first) {
            let inner = start + 1;
            (inner, s[inner..].find(first).map_or(s.len(), |p| inner + p))
        } else if let Some(q) = opened {
            (start, s[start..].find(q).map_or(s.len(), |p| start + p))
        } else {
            // `a=1; b=2 next`: the words while each ends with `;`.
            let mut end = word_end(s, start);
            while s[..end].ends_with(';') && s[end..].starts_with(' ') {
                let next = end + 1;
                let next_end = word_end(s, next);
                if next_end == next {
                    break;
                }
                end = next_end;
            }
            (start, end)
        };
        if to > from_ && &s[from_..to] != REDACTED {
            spans.push((from_, to));
            from = to.max(from);
        }
    }
    splice(s, &spans)
}

/// A token prefix, the characters that may follow it, and how many must.
pub(super) struct TokenShape {
    prefix: &'static str,
    min: usize,
    max: usize,
    body: fn(u8) -> bool,
}

pub(super) fn alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

pub(super) fn alnum_underscore(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

pub(super) fn alnum_dash(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

pub(super) fn alnum_dash_underscore(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// Tokens that need no name beside them to be recognized, by their documented shapes.
pub(super) const TOKEN_SHAPES: &[TokenShape] = &[
    // GitHub: classic, OAuth, user-to-server, server-to-server, refresh; fine-grained.
    TokenShape {
        prefix: "ghp_",
        min: 30,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "gho_",
        min: 30,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "ghu_",
        min: 30,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "ghs_",
        min: 30,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "ghr_",
        min: 30,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "github_pat_",
        min: 22,
        max: 255,
        body: alnum_underscore,
    },
    // Slack: bot, user, app-level, refresh, legacy workspace.
    TokenShape {
        prefix: "xoxb-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xoxp-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xoxa-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xoxr-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xoxe-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xoxs-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xapp-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    // GitLab personal, deploy, runner tokens.
    TokenShape {
        prefix: "glpat-",
        min: 20,
        max: 255,
        body: alnum_dash_underscore,
    },
    TokenShape {
        prefix: "gldt-",
        min: 20,
        max: 255,
        body: alnum_dash_underscore,
    },
    TokenShape {
        prefix: "glrt-",
        min: 20,
        max: 255,
        body: alnum_dash_underscore,
    },
    // Stripe secret and restricted keys.
    TokenShape {
        prefix: "sk_live_",
        min: 16,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "rk_live_",
        min: 16,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "sk_test_",
        min: 16,
        max: 255,
        body: alnum,
    },
    // Google API keys: `AIza` + 35.
    TokenShape {
        prefix: "AIza",
        min: 35,
        max: 35,
        body: alnum_dash_underscore,
    },
    // Vault service, batch and recovery tokens; legacy service tokens are `s.` + 24 (see `redact_tokens`).
    TokenShape {
        prefix: "hvs.",
        min: 24,
        max: 255,
        body: alnum_dash_underscore,
    },
    TokenShape {
        prefix: "hvb.",
        min: 24,
        max: 255,
        body: alnum_dash_underscore,
    },
    TokenShape {
        prefix: "hvr.",
        min: 24,
        max: 255,
        body: alnum_dash_underscore,
    },
    TokenShape {
        prefix: "s.",
        min: 24,
        max: 24,
        body: alnum,
    },
];

/// Bare tokens by shape, prefix kept (`ghp_***`): at a word start, the whole run of token characters, its length
/// within the shape's bounds. Vault's legacy `s.` + 24 also needs letters and digits mixed, so an ordinary
/// `s.` + 24 letters (a Java package, a host name) stays.
pub(super) fn redact_tokens(s: &str) -> String {
    let b = s.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let boundary =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || matches!(b[i - 1], b'_' | b'-' | b'.'));
        let shape = boundary
            .then(|| {
                TOKEN_SHAPES
                    .iter()
                    .find(|t| b[i..].starts_with(t.prefix.as_bytes()))
            })
            .flatten();
        let Some(t) = shape else {
            i += 1;
            continue;
        };
        let start = i + t.prefix.len();
        let run = b[start..].iter().take_while(|c| (t.body)(**c)).count();
        let body = &b[start..start + run];
        // A run that goes on with a `.` or `-` past the shape's own characters is a name, not a token.
        let after_ok = b
            .get(start + run)
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'));
        let mixed = t.prefix != "s."
            || (body.iter().any(u8::is_ascii_digit) && body.iter().any(u8::is_ascii_alphabetic));
        if (t.min..=t.max).contains(&run) && after_ok && mixed {
            spans.push((start, start + run));
            i = start + run;
        } else {
            i += t.prefix.len();
        }
    }
    splice(s, &spans)
}

/// Replace the byte ranges (sorted, non-overlapping, on char boundaries) with [`REDACTED`].
pub(super) fn splice(s: &str, spans: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for &(start, end) in spans {
        if start < at || end <= start || end > s.len() {
            continue;
        }
        out.push_str(&s[at..start]);
        out.push_str(REDACTED);
        at = end;
    }
    out.push_str(&s[at..]);
    out
}

pub(super) fn is_quote(c: char) -> bool {
    c == '"' || c == '\''
}

/// The end of the word starting at `start` (whitespace or a quote ends it).
pub(super) fn word_end(s: &str, start: usize) -> usize {
    s[start..]
        .find(|c: char| c.is_whitespace() || is_quote(c))
        .map_or(s.len(), |i| start + i)
}

/// `scheme://user:password@host` → `scheme://user:***@host`; a long bare userinfo (`https://TOKEN@host`) goes too.
pub(super) fn redact_url_userinfo(s: &str) -> String {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find("://") {
        let start = from + i + 3;
        let end = word_end(s, start);
        let authority = &s[start..end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) if !userinfo[..colon].contains('/') && colon + 1 < userinfo.len() => {
                    spans.push((start + colon + 1, start + at));
                }
                None if userinfo.len() >= 16 && !userinfo.contains('/') && userinfo != REDACTED => {
                    spans.push((start, start + at));
                }
                _ => {}
            }
        }
        from = end.max(start);
    }
    splice(s, &spans)
}

/// `Authorization: <scheme> <credentials>` (also `"Authorization": "…"` and `authorization=…`; a bare credential
/// without a scheme goes whole) and `Bearer <token>` anywhere.
pub(super) fn redact_authorization(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut spans = Vec::new();
    // The next word from `from`, past blanks and opening quotes.
    let next_word = |from: usize| -> Option<(usize, usize)> {
        let start = from + s[from..].find(|c: char| c != ' ' && c != '\t' && !is_quote(c))?;
        let end = word_end(s, start);
        (end > start).then_some((start, end))
    };
    let mut from = 0;
    while let Some(i) = lower[from..].find("authorization") {
        let after = from + i + "authorization".len();
        from = after;
        let rest = s[after..].trim_start_matches(is_quote);
        let Some(value) = rest.strip_prefix([':', '=']) else {
            continue;
        };
        let Some((w1, w1_end)) = next_word(s.len() - value.len()) else {
            continue;
        };
        let scheme = &s[w1..w1_end];
        let is_scheme = scheme.len() <= 10 && scheme.chars().all(|c| c.is_ascii_alphabetic());
        let credentials = next_word(w1_end).filter(|_| s[w1_end..].starts_with([' ', '\t']));
        match credentials {
            Some(span) if is_scheme => spans.push(span),
            // No scheme, or nothing after it: the first word is the credential.
            _ => spans.push((w1, w1_end)),
        }
    }
    let mut from = 0;
    while let Some(i) = lower[from..].find("bearer") {
        let at = from + i;
        let after = at + "bearer".len();
        from = after;
        let boundary = !lower[..at].ends_with(|c: char| c.is_ascii_alphanumeric());
        if boundary && s[after..].starts_with([' ', '\t']) {
            if let Some(span) = next_word(after) {
                spans.push(span);
            }
        }
    }
    spans.sort_unstable();
    spans.dedup();
    splice(s, &spans)
}

/// Whether an argument or key names a secret: `password`, `DB_PASSWORD`, `--api-key`, `clientSecret`,
/// `aws_secret_access_key`, `X-Auth-Token`, `pwd`, … but not `key_file` or `token_type`.
pub(super) fn is_secret_name(name: &str) -> bool {
    let name = name.trim_start_matches('-');
    let mut normal = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            normal.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        normal.push(match c {
            '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        });
    }
    let last = normal.rsplit('_').next().unwrap_or_default();
    const LAST: [&str; 14] = [
        "signature",
        "sig",
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "token",
        "key",
        "apikey",
        "credential",
        "credentials",
        "pw",
    ];
    const JOINED: [&str; 8] = [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
    ];
    let joined: String = normal.chars().filter(|c| *c != '_').collect();
    LAST.contains(&last) || JOINED.iter().any(|j| joined.ends_with(j))
}

/// `name=value` and `name: value` where the name is a secret's; a quoted value keeps its quotes.
pub(super) fn redact_assignments(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut spans = Vec::new();
    let mut covered = 0;
    for (i, sep) in s.char_indices().filter(|(_, c)| *c == '=' || *c == ':') {
        if i < covered {
            continue;
        }
        // The name: identifier characters right before the separator, past one closing quote (`"token":`).
        let mut name_end = i;
        if name_end > 0 && is_quote(char::from(bytes[name_end - 1])) {
            name_end -= 1;
        }
        let name_start = s[..name_end]
            .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .len();
        let name = &s[name_start..name_end];
        if name.is_empty() || name_end - name_start > 64 || !is_secret_name(name) {
            continue;
        }
        let mut start = i + 1;
        if sep == ':' {
            start += s[start..].len() - s[start..].trim_start_matches([' ', '\t']).len();
        }
        let Some(first) = s[start..].chars().next() else {
            continue;
        };
        // In a URL query (`?X-Amz-Signature=…&X-Amz-Date=…`) the value ends at the next parameter.
        let in_query = sep == '=' && s[..name_start].ends_with(['?', '&']);
        let (from, to) = if is_quote(first) {
            let inner = start + 1;
            let close = s[inner..].find(first).map_or(s.len(), |p| inner + p);
            (inner, close)
        } else {
            let end = s[start..]
                .find(|c: char| c.is_whitespace() || (in_query && matches!(c, '&' | '#')))
                .map_or(s.len(), |p| start + p);
            (start, end)
        };
        if to > from {
            spans.push((from, to));
            covered = to;
        }
    }
    splice(s, &spans)
}

/// Programs whose `-p<password>` is attached to the flag (mysql family, MariaDB, PostgreSQL clients, sshpass).
pub(super) fn takes_attached_password(program: &str) -> bool {
    program.starts_with("mysql")
        || program.starts_with("mariadb")
        || program.starts_with("pg_")
        || program == "psql"
        || program == "sshpass"
}

/// Argument-level rules: `--password VALUE`, `aws_secret_access_key VALUE`, `mysql … -pSECRET`,
/// `sshpass -p SECRET`, `redis-cli -a SECRET`, `docker login -p SECRET`, `curl -u user:SECRET`,
/// `curl --cookie a=SECRET`, `sqlplus scott/SECRET@db`, `expdp userid=scott/SECRET`.
// Long on purpose: one pass over the words, one arm per program or flag shape; the arms share the cursor.
pub(super) fn redact_arguments(s: &str) -> String {
    let w = words(s);
    let mut spans = Vec::new();
    let mut program: Option<String> = None;
    // `docker login` seen: its `-p` is the password (elsewhere `docker -p` publishes a port).
    let mut login = false;
    for (k, &(start, word)) in w.iter().enumerate() {
        let wrapping = |c: char| is_quote(c) || matches!(c, ';' | '(' | ')');
        let bare = word.trim_matches(wrapping);
        let lead = word.len() - word.trim_start_matches(wrapping).len();
        let at = start + lead;
        // The program name, also inside `sh -c "mysql …"` or `proctitle="mysql …"`.
        let base = bare
            .rsplit(['/', '"', '\'', '='])
            .next()
            .unwrap_or(bare)
            .to_ascii_lowercase();
        // A word masked as the value before it (`--password mysql -pSECRET`) still names the program whose flags
        // follow: the secrets after it are masked in this pass, so the next pass, which sees `***` there and no
        // program, has nothing left to mask.
        let program_word = takes_attached_password(&base)
            || base == "redis-cli"
            || base == "curl"
            || is_registry_client(&base)
            || is_oracle_client(&base);
        if program_word {
            program = Some(base);
            login = false;
            continue;
        }
        // The word at k + 1 (past a lone `=` or `:`), unless it looks like the next option.
        let value_at = |k: usize| -> Option<(usize, &str)> {
            let mut j = k + 1;
            if matches!(w.get(j), Some((_, "=" | ":"))) {
                j += 1;
            }
            let &(vs, v) = w.get(j)?;
            let option = v.starts_with("--") || (v.starts_with('-') && v.len() <= 2);
            (!option && v != REDACTED).then_some((vs, v))
        };
        let mut value_of = |k: usize| {
            if let Some((vs, v)) = value_at(k) {
                spans.push((vs, vs + v.len()));
            }
        };
        let lower = bare.to_ascii_lowercase();
        // `-pSECRET` after a mysql-like program is the password itself, whatever it spells (`-pZq^aPw` is no
        // flag named like a password): the attached rule below masks it.
        let attached = program.as_deref().is_some_and(takes_attached_password)
            && bare.len() > 2
            && bare.starts_with("-p")
            && !bare.starts_with("--");
        if !attached
            && bare.starts_with('-')
            && !bare.contains('=')
            && bare.len() > 1
            && is_secret_name(bare)
            || lower == "aws_secret_access_key"
            || lower == "aws_session_token"
        {
            value_of(k);
            continue;
        }
        let Some(program) = program.as_deref() else {
            continue;
        };
        if program == "curl" {
            // `-u user:password`, `--user=user:password`, `-uuser:password`, the proxy's `-U`: the part after
            // the first colon (without one, curl prompts for the password: nothing to hide).
            let credentials = match bare {
                "-u" | "--user" | "-U" | "--proxy-user" => value_at(k),
                _ => ["--user=", "--proxy-user=", "-u", "-U"]
                    .iter()
                    .find_map(|p| bare.strip_prefix(p).filter(|v| !v.is_empty()))
                    .map(|v| (at + bare.len() - v.len(), v)),
            };
            if let Some((vs, v)) = credentials {
                if let Some(colon) = v.find(':').filter(|c| c + 1 < v.len()) {
                    let rest = v.trim_end_matches(wrapping);
                    if &rest[colon + 1..] != REDACTED && rest.len() > colon + 1 {
                        spans.push((vs + colon + 1, vs + rest.len()));
                    }
                }
            }
            // A cookie string (`name=value`), not a cookie file.
            if matches!(bare, "-b" | "--cookie") {
                if let Some((vs, v)) = value_at(k).filter(|(_, v)| v.contains('=')) {
                    spans.push((vs, vs + v.len()));
                }
            }
            continue;
        }
        if is_registry_client(program) {
            if bare == "login" {
                login = true;
            } else if login && bare == "-p" {
                value_of(k);
            } else if let Some(value) = bare.strip_prefix("-p").filter(|_| login) {
                if !value.is_empty() && value != REDACTED && !bare.starts_with("--") {
                    spans.push((at + 2, at + 2 + value.len()));
                }
            }
            continue;
        }
        if is_oracle_client(program) {
            // `scott/tiger@db`, `userid=scott/tiger`, `"sys/pw@db as sysdba"`; not `/nolog` or `@script.sql`.
            let account = match lower.strip_prefix("userid=") {
                Some(_) => &bare["userid=".len()..],
                None => bare,
            };
            let account_at = at + bare.len() - account.len();
            if !account.starts_with(['-', '/', '@']) {
                let end = account.find('@').unwrap_or(account.len());
                if let Some(span) = oracle_password(s, account_at, account_at + end) {
                    spans.push(span);
                }
            }
            continue;
        }
        let flag = match program {
            "redis-cli" => "-a",
            _ => "-p",
        };
        if bare == flag && (program == "sshpass" || program == "redis-cli") {
            value_of(k);
        } else if let Some(value) = bare.strip_prefix(flag) {
            if !value.is_empty() && value != REDACTED && !bare.starts_with("--") {
                let from = at + flag.len();
                spans.push((from, from + value.len()));
            }
        }
    }
    spans.sort_unstable();
    spans.dedup();
    splice(s, &spans)
}

/// `AKIA`/`ASIA` + 16 upper-case letters or digits (also a prefix of one, at least 8 long, cut at the end of the
/// text) → `AKIA***`.
pub(super) fn redact_access_key_ids(s: &str) -> String {
    let b = s.as_bytes();
    let key_char = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    let mut spans = Vec::new();
    let mut i = 0;
    while i + 4 <= b.len() {
        let prefix = &b[i..i + 4];
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if boundary && (prefix == b"AKIA" || prefix == b"ASIA") {
            let run = b[i + 4..].iter().take_while(|c| key_char(**c)).count();
            let at_end = i + 4 + run == b.len();
            let after_ok = b
                .get(i + 4 + run)
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            if (run == 16 && after_ok) || (at_end && (8..16).contains(&run)) {
                spans.push((i + 4, i + 4 + run));
                i += 4 + run;
                continue;
            }
        }
        i += 1;
    }
    splice(s, &spans)
}
