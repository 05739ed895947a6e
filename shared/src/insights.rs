//! Metrics Insights queries, as alarms hold them (`SELECT MAX(CPUUtilization) FROM SCHEMA("AWS/EC2", InstanceId)
//! GROUP BY InstanceId ORDER BY MAX() DESC`), read into the parts a fleet incident needs: function, metric,
//! namespace, filter, grouping. Not a SQL engine: the clauses the query language has, in its order, nothing more.

/// The namespaces whose fleet alarms ec2ops handles (the template's default `AlarmNamespaces`).
pub const EC2_NAMESPACES: &[&str] = &["AWS/EC2", "CWAgent"];

/// A Metrics Insights query, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The aggregate as written, upper case: `MAX`, `AVG`, `MIN`, `SUM`, `COUNT`.
    pub function: String,
    pub metric: String,
    pub namespace: String,
    /// The dimension keys of `SCHEMA("ns", k1, k2)`; empty for `FROM "ns"`.
    pub schema_keys: Vec<String>,
    /// The `WHERE` clause, verbatim.
    pub filter: Option<String>,
    pub group_by: Vec<String>,
    /// The `ORDER BY` clause, verbatim.
    pub order_by: Option<String>,
    pub limit: Option<u32>,
}

impl Query {
    /// The GetMetricData statistic the query's aggregate corresponds to.
    pub fn stat(&self) -> Option<&'static str> {
        stat_of(&self.function)
    }
}

/// The GetMetricData statistic of a Metrics Insights aggregate (`MAX` → `Maximum`).
pub fn stat_of(function: &str) -> Option<&'static str> {
    Some(match function.to_ascii_uppercase().as_str() {
        "MAX" => "Maximum",
        "MIN" => "Minimum",
        "AVG" => "Average",
        "SUM" => "Sum",
        "COUNT" => "SampleCount",
        _ => return None,
    })
}

/// Whether an alarm expression is a Metrics Insights query rather than metric math.
pub fn is_query(expression: &str) -> bool {
    expression
        .trim_start()
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("SELECT"))
        && expression
            .trim_start()
            .chars()
            .nth(6)
            .is_some_and(char::is_whitespace)
}

/// The EC2 namespace a query names, found by plain text search: for a query [`parse`] cannot read, so that an
/// alarm the EventBridge rule routed (its pattern matches the same text) is still recognised as an EC2 fleet alarm.
pub fn mentioned_ec2_namespace(expression: &str) -> Option<&'static str> {
    EC2_NAMESPACES
        .iter()
        .copied()
        .find(|ns| expression.contains(ns))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Punct(char),
}

struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '"' || c == '\'' {
            let mut text = String::new();
            let mut end = None;
            while let Some((i, d)) = chars.next() {
                if d == '\\' {
                    if let Some((_, e)) = chars.next() {
                        text.push(e);
                    }
                } else if d == c {
                    end = Some(i + d.len_utf8());
                    break;
                } else {
                    text.push(d);
                }
            }
            let end = end.ok_or_else(|| format!("unterminated {c}quoted{c} name"))?;
            out.push(Token {
                tok: Tok::Quoted(text),
                start,
                end,
            });
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let mut end = start + c.len_utf8();
            while let Some(&(i, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' || d == '.' {
                    end = i + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Token {
                tok: Tok::Word(s[start..end].to_string()),
                start,
                end,
            });
        } else {
            out.push(Token {
                tok: Tok::Punct(c),
                start,
                end: start + c.len_utf8(),
            });
        }
    }
    Ok(out)
}

fn is_kw(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(kw))
}

fn describe(t: Option<&Token>) -> String {
    match t.map(|t| &t.tok) {
        None => "the end of the query".into(),
        Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => {
            format!("{:?}", w.chars().take(24).collect::<String>())
        }
        Some(Tok::Punct(c)) => format!("{c:?}"),
    }
}

fn clause_name(kw: &str) -> &str {
    match kw {
        "GROUP" => "GROUP BY",
        "ORDER" => "ORDER BY",
        other => other,
    }
}

/// Read a Metrics Insights query. The error says, in a few words, which part could not be read.
// Long on purpose: a recursive-descent reader of the query's clauses in their fixed order, one cursor.
pub fn parse(expression: &str) -> Result<Query, String> {
    let toks = tokenize(expression)?;
    let mut i = 0;
    let expect_kw = |i: &mut usize, kw: &str| -> Result<(), String> {
        if is_kw(toks.get(*i), kw) {
            *i += 1;
            Ok(())
        } else {
            Err(format!("expected {kw}, found {}", describe(toks.get(*i))))
        }
    };
    let expect_punct = |i: &mut usize, p: char| -> Result<(), String> {
        match toks.get(*i) {
            Some(Token {
                tok: Tok::Punct(c), ..
            }) if *c == p => {
                *i += 1;
                Ok(())
            }
            other => Err(format!("expected {p:?}, found {}", describe(other))),
        }
    };
    let name = |i: &mut usize, what: &str| -> Result<String, String> {
        match toks.get(*i) {
            Some(Token {
                tok: Tok::Word(w) | Tok::Quoted(w),
                ..
            }) if !w.is_empty() => {
                *i += 1;
                Ok(w.clone())
            }
            other => Err(format!("expected {what}, found {}", describe(other))),
        }
    };

    expect_kw(&mut i, "SELECT")?;
    let function = match toks.get(i) {
        Some(Token {
            tok: Tok::Word(w), ..
        }) => w.to_ascii_uppercase(),
        other => {
            return Err(format!(
                "expected an aggregate such as MAX(…), found {}",
                describe(other)
            ))
        }
    };
    i += 1;
    expect_punct(&mut i, '(')?;
    let metric = match toks.get(i) {
        Some(Token {
            tok: Tok::Punct('*'),
            ..
        }) => {
            i += 1;
            "*".to_string()
        }
        _ => name(&mut i, "a metric name")?,
    };
    expect_punct(&mut i, ')')?;
    expect_kw(&mut i, "FROM")?;
    let mut schema_keys = Vec::new();
    let namespace = if is_kw(toks.get(i), "SCHEMA")
        && matches!(
            toks.get(i + 1),
            Some(Token {
                tok: Tok::Punct('('),
                ..
            })
        ) {
        i += 2;
        let ns = name(&mut i, "a namespace")?;
        while matches!(
            toks.get(i),
            Some(Token {
                tok: Tok::Punct(','),
                ..
            })
        ) {
            i += 1;
            schema_keys.push(name(&mut i, "a dimension key")?);
        }
        expect_punct(&mut i, ')')?;
        ns
    } else {
        name(&mut i, "a namespace or SCHEMA(…)")?
    };

    // The clauses, each up to the next clause keyword at the top level.
    const CLAUSES: &[&str] = &["WHERE", "GROUP", "ORDER", "LIMIT"];
    let clause_at = |j: usize| -> Option<&'static str> {
        let kw = CLAUSES.iter().copied().find(|k| is_kw(toks.get(j), k))?;
        match kw {
            "GROUP" | "ORDER" => is_kw(toks.get(j + 1), "BY").then_some(kw),
            _ => Some(kw),
        }
    };
    let mut filter = None;
    let mut group_by = Vec::new();
    let mut order_by = None;
    let mut limit = None;
    let mut seen: Vec<&str> = Vec::new();
    while i < toks.len() {
        let Some(kw) = clause_at(i) else {
            return Err(format!(
                "expected WHERE, GROUP BY, ORDER BY or LIMIT, found {}",
                describe(toks.get(i))
            ));
        };
        // The language's order: WHERE, GROUP BY, ORDER BY, LIMIT, each once.
        let rank = |k: &str| CLAUSES.iter().position(|c| *c == k).unwrap_or(0);
        if seen.iter().any(|s| rank(s) >= rank(kw)) {
            return Err(format!("{} out of place", clause_name(kw)));
        }
        seen.push(kw);
        i += if matches!(kw, "GROUP" | "ORDER") {
            2
        } else {
            1
        };
        let body_start = i;
        let mut depth = 0i32;
        while i < toks.len() && !(depth == 0 && clause_at(i).is_some()) {
            match toks[i].tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        let body = &toks[body_start..i];
        let (Some(first), Some(last)) = (body.first(), body.last()) else {
            return Err(format!("empty {} clause", clause_name(kw)));
        };
        let text = expression[first.start..last.end].to_string();
        match kw {
            "WHERE" => filter = Some(text),
            "ORDER" => order_by = Some(text),
            "GROUP" => {
                for (n, t) in body.iter().enumerate() {
                    match (&t.tok, n % 2) {
                        (Tok::Word(w) | Tok::Quoted(w), 0) => group_by.push(w.clone()),
                        (Tok::Punct(','), 1) => {}
                        _ => return Err(format!("GROUP BY: unexpected {}", describe(Some(t)))),
                    }
                }
                if body.len() % 2 == 0 {
                    return Err("GROUP BY ends with a comma".into());
                }
            }
            _ => {
                limit = match body {
                    [Token {
                        tok: Tok::Word(w), ..
                    }] => w.parse::<u32>().ok(),
                    _ => None,
                };
                if limit.is_none() {
                    return Err(format!("LIMIT {} is not a count", describe(body.first())));
                }
            }
        }
    }
    Ok(Query {
        function,
        metric,
        namespace,
        schema_keys,
        filter,
        group_by,
        order_by,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_labs_single_series_query_reads() {
        let q = parse(r#"SELECT MAX(CPUUtilization) FROM SCHEMA("AWS/EC2", InstanceId)"#).unwrap();
        assert_eq!(q.function, "MAX");
        assert_eq!(q.metric, "CPUUtilization");
        assert_eq!(q.namespace, "AWS/EC2");
        assert_eq!(q.schema_keys, ["InstanceId"]);
        assert!(q.group_by.is_empty());
        assert_eq!(q.stat(), Some("Maximum"));
    }

    #[test]
    fn a_multi_time_series_query_with_every_clause_reads() {
        let q = parse(
            "select avg(\"mem_used_percent\") from CWAgent where Environment = 'prod' AND \
             InstanceType != 't3.micro' group by InstanceId, InstanceType order by MAX() desc limit 10",
        )
        .unwrap();
        assert_eq!(q.function, "AVG");
        assert_eq!(q.metric, "mem_used_percent");
        assert_eq!(q.namespace, "CWAgent");
        assert_eq!(
            q.filter.as_deref(),
            Some("Environment = 'prod' AND InstanceType != 't3.micro'")
        );
        assert_eq!(q.group_by, ["InstanceId", "InstanceType"]);
        assert_eq!(q.order_by.as_deref(), Some("MAX() desc"));
        assert_eq!(q.limit, Some(10));
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        for (q, why) in [
            ("SELECT MAX(CPUUtilization)", "expected FROM"),
            ("SELECT MAX(CPUUtilization FROM \"AWS/EC2\"", "expected ')'"),
            ("SELECT MAX(CPUUtilization) FROM \"AWS/EC2", "unterminated"),
            (
                "SELECT MAX(CPUUtilization) FROM \"AWS/EC2\" GROUP BY",
                "empty GROUP BY clause",
            ),
            (
                "SELECT MAX(CPUUtilization) FROM \"AWS/EC2\" LIMIT many",
                "not a count",
            ),
            (
                "SELECT MAX(CPUUtilization) FROM \"AWS/EC2\" LIMIT 5 WHERE a = 'b'",
                "WHERE out of place",
            ),
            (
                "SELECT MAX(CPUUtilization) FROM \"AWS/EC2\" HAVING x",
                "expected WHERE",
            ),
        ] {
            let err = parse(q).unwrap_err();
            assert!(err.contains(why), "{q}: {err}");
        }
    }

    #[test]
    fn only_select_is_a_query() {
        assert!(is_query("  SELECT MAX(x) FROM y"));
        assert!(is_query("select\tAVG(x) FROM y"));
        assert!(!is_query("SELECTED(m1)"));
        assert!(!is_query("MAX([m1, m2])"));
        assert!(!is_query("SEL"));
        assert!(!is_query("SELECTé"));
    }
}
