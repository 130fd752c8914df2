//! A worker count computed on the machine (`multiprocessing.cpu_count() * 2 + 1`, `$((2 *
//! $(nproc) + 1))`), evaluated at a stated host CPU count. In a container `cpu_count()` and
//! `nproc` see the host's CPUs, not the container's quota, so the count production runs is the
//! host's: the budget needs a number, and says which host it assumed.

/// The CPU-count expressions of Python and shell, longest first (each stands for the host's CPUs).
const CPU_EXPRESSIONS: &[&str] = &[
    "len(os.sched_getaffinity(0))",
    "multiprocessing.cpu_count()",
    "$(getconf _NPROCESSORS_ONLN)",
    "os.cpu_count()",
    "cpu_count()",
    "$(nproc)",
    "`nproc`",
];

/// The value of `formula` on a host with `cpus` CPUs; `None` when it holds anything but
/// integers, a CPU count, `+ - * / // %`, parentheses, `int(...)` and `x or y`.
pub fn evaluate(formula: &str, cpus: u32) -> Option<u32> {
    let mut text = formula.to_owned();
    for expression in CPU_EXPRESSIONS {
        text = text.replace(expression, " N ");
    }
    // Shell arithmetic `$(( ... ))` and Python's `int(...)` are plain parentheses here.
    let text = text.replace("$((", "((").replace("int(", "(");
    let tokens = tokens(&text)?;
    let mut parser = Parser { tokens: &tokens, at: 0, cpus: i64::from(cpus) };
    let value = parser.or()?;
    (parser.at == tokens.len()).then_some(value).and_then(|v| u32::try_from(v).ok())
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(i64),
    Cpus,
    Op(&'static str),
}

fn tokens(text: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            i += digits.len();
            out.push(Token::Number(digits.parse().ok()?));
        } else if rest.starts_with('N') && !rest[1..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            i += 1;
            out.push(Token::Cpus);
        } else if let Some(op) =
            ["//", "or", "+", "-", "*", "/", "%", "(", ")"].into_iter().find(|op| rest.starts_with(op))
        {
            i += op.len();
            out.push(Token::Op(op));
        } else {
            return None;
        }
    }
    Some(out)
}

/// Precedence climbing over `or`, `+ -`, `* / // %`, atoms.
struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    cpus: i64,
}

impl Parser<'_> {
    fn eat(&mut self, op: &str) -> bool {
        let found = matches!(self.tokens.get(self.at), Some(Token::Op(o)) if *o == op);
        self.at += usize::from(found);
        found
    }

    fn or(&mut self) -> Option<i64> {
        let mut value = self.sum()?;
        while self.eat("or") {
            let other = self.sum()?;
            if value == 0 {
                value = other;
            }
        }
        Some(value)
    }

    fn sum(&mut self) -> Option<i64> {
        let mut value = self.product()?;
        loop {
            if self.eat("+") {
                value = value.checked_add(self.product()?)?;
            } else if self.eat("-") {
                value = value.checked_sub(self.product()?)?;
            } else {
                return Some(value);
            }
        }
    }

    fn product(&mut self) -> Option<i64> {
        let mut value = self.atom()?;
        loop {
            if self.eat("*") {
                value = value.checked_mul(self.atom()?)?;
            } else if self.eat("//") || self.eat("/") {
                value = value.checked_div(self.atom()?)?;
            } else if self.eat("%") {
                value = value.checked_rem(self.atom()?)?;
            } else {
                return Some(value);
            }
        }
    }

    fn atom(&mut self) -> Option<i64> {
        let token = self.tokens.get(self.at)?.clone();
        self.at += 1;
        match token {
            Token::Number(n) => Some(n),
            Token::Cpus => Some(self.cpus),
            Token::Op("(") => {
                let value = self.or()?;
                self.eat(")").then_some(value)
            }
            Token::Op("-") => self.atom().map(|v| -v),
            Token::Op(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::evaluate;

    #[test]
    fn python_and_shell_formulas_at_a_host_cpu_count() {
        assert_eq!(evaluate("multiprocessing.cpu_count() * 2 + 1", 8), Some(17));
        assert_eq!(evaluate("(os.cpu_count() or 1) * 2 + 1", 4), Some(9));
        assert_eq!(evaluate("int(len(os.sched_getaffinity(0)) * 1.5)", 8), None);
        assert_eq!(evaluate("$((2 * $(nproc) + 1))", 8), Some(17));
        assert_eq!(evaluate("$(nproc)", 6), Some(6));
        assert_eq!(evaluate("cpu_count() // 2", 8), Some(4));
        assert_eq!(evaluate("max(2, cpu_count())", 8), None);
        assert_eq!(evaluate("cpu_count() - 20", 8), None);
    }
}
