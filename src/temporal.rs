//! Dates and numbers: DATE, TIME, DURATION, MONEY, PERCENT, QUANTITY, CARDINAL and ORDINAL
//! expressions found by rules, with normalized values.
//!
//! Dates resolve against the article date: "February 24" → `2022-02-24`, "Friday" → the last
//! Friday on or before the article date, "yesterday", "last month" → `2022-10`, "September" →
//! `2022-09`. Numbers are parsed: "80,000 troops" → 80000 with unit `troops`, "6,000 sq km" →
//! 6000 `km²`, "a fifth" → 0.2, "£5m" → 5000000 `GBP`.

use crate::span::CharIndex;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The type of a temporal or numeric expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum TemporalLabel {
    /// A calendar date or period.
    Date,
    /// A time of day.
    Time,
    /// A length of time.
    Duration,
    /// An amount of money.
    Money,
    /// A percentage.
    Percent,
    /// A measurement with a unit.
    Quantity,
    /// A count.
    Cardinal,
    /// A rank ("first", "3rd").
    Ordinal,
}

/// A normalized value: an ISO-8601 string (dates, times, durations) or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Value {
    /// A number.
    Number(f64),
    /// An ISO-8601 date (`2022-02-24`), month (`2022-09`), year (`2022`), week (`2022-W45`),
    /// time (`05:00`) or duration (`P3D`).
    Text(String),
}

/// One expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Temporal {
    /// The exact slice of the text.
    pub text: String,
    /// The type.
    pub label: TemporalLabel,
    /// The normalized value; `None` when it cannot be resolved (a weekday without an article
    /// date, say).
    pub value: Option<Value>,
    /// The unit of a number: a currency code, `%`, `km²`, or the counted noun ("troops").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// `start` in characters (Unicode scalar values: a Python `str` index).
    pub char_start: usize,
    /// `end` in characters.
    pub char_end: usize,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).unwrap_or_else(|e| unreachable!("{e}")))
}

const MONTHS: &str = "January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec";
const WEEKDAYS: &str = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday";

fn month_number(name: &str) -> Option<u32> {
    let n = name.to_ascii_lowercase();
    let names = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    names
        .iter()
        .position(|m| n.starts_with(m))
        .map(|i| i as u32 + 1)
}

fn weekday(name: &str) -> Option<Weekday> {
    name.parse().ok()
}

/// The article date from a date line among the first lines of the text ("date 2022-11-12",
/// "Thu, 2 February 2023", "2 February 2023"), with the line's byte span.
pub fn article_date(text: &str) -> Option<(NaiveDate, (usize, usize))> {
    static LINE: OnceLock<Regex> = OnceLock::new();
    let line_re = re(
        &LINE,
        &format!(
            r"(?i)^(?:(?:date|published|updated)\s*:?\s*)?(?:(?:{WEEKDAYS}|Mon|Tue|Tues|Wed|Thu|Thurs|Fri|Sat|Sun),?\s+)?(?:(\d{{4}})-(\d{{2}})-(\d{{2}})|(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTHS})\.?,?\s+(\d{{4}})|({MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}))$"
        ),
    );
    let mut offset = 0;
    for (seen, raw) in text.split_inclusive('\n').enumerate() {
        if seen >= 6 {
            break;
        }
        let line = raw.trim_end_matches(['\n', '\r']);
        let lead = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        let start = offset + lead;
        offset += raw.len();
        if trimmed.is_empty() {
            continue;
        }
        let c = line_re.captures(trimmed)?;
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let date = if let (Some(y), Some(m), Some(d)) = (num(1), num(2), num(3)) {
            NaiveDate::from_ymd_opt(y as i32, m, d)
        } else if let (Some(d), Some(m), Some(y)) = (num(4), c.get(5), num(6)) {
            NaiveDate::from_ymd_opt(y as i32, month_number(m.as_str())?, d)
        } else {
            let (m, d, y) = (c.get(7)?, num(8)?, num(9)?);
            NaiveDate::from_ymd_opt(y as i32, month_number(m.as_str())?, d)
        }?;
        return Some((date, (start, start + trimmed.len())));
    }
    None
}

/// Expressions found so far; a later, lower-priority pattern cannot take their text.
struct Collector {
    found: Vec<Found>,
    taken: Vec<(usize, usize)>,
}

impl Collector {
    fn add(
        &mut self,
        start: usize,
        end: usize,
        label: TemporalLabel,
        value: Option<Value>,
        unit: Option<String>,
    ) {
        if self.taken.iter().any(|&(a, b)| start < b && end > a) {
            return;
        }
        self.taken.push((start, end));
        self.found.push(Found {
            start,
            end,
            label,
            value,
            unit,
        });
    }
}

struct Found {
    start: usize,
    end: usize,
    label: TemporalLabel,
    value: Option<Value>,
    unit: Option<String>,
}

fn parse_number(s: &str) -> Option<f64> {
    s.replace(',', "").parse().ok()
}

/// A number in digits ("80,000", "2.5") or in words ("three", "a dozen").
fn number(s: &str) -> Option<f64> {
    parse_number(s).or_else(|| word_number(s))
}

fn scale(word: &str) -> f64 {
    match word.to_ascii_lowercase().as_str() {
        "k" | "thousand" => 1e3,
        "m" | "mn" | "million" => 1e6,
        "bn" | "b" | "billion" => 1e9,
        "tn" | "trillion" => 1e12,
        _ => 1.0,
    }
}

fn word_number(w: &str) -> Option<f64> {
    let n = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    let w = w.to_ascii_lowercase();
    if let Some(i) = n.iter().position(|x| *x == w) {
        return Some(i as f64);
    }
    Some(match w.as_str() {
        "a" | "an" | "a single" => 1.0,
        "thirty" => 30.0,
        "forty" => 40.0,
        "fifty" => 50.0,
        "hundred" | "a hundred" => 100.0,
        "thousand" | "a thousand" => 1000.0,
        "dozen" | "a dozen" => 12.0,
        _ => return None,
    })
}

const NUM_WORDS: &str = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|hundred|thousand|dozen";

/// Finds the expressions of a text. `date` is the article date that relative dates resolve
/// against; `skip` are spans to leave alone (furniture). Results are sorted and disjoint.
///
/// The recognizers run in priority order: a later one cannot take text an earlier one found.
pub fn find(text: &str, date: Option<NaiveDate>, skip: &[(usize, usize)]) -> Vec<Temporal> {
    let mut out = Collector {
        found: Vec::new(),
        taken: skip.to_vec(),
    };
    for recognize in RECOGNIZERS {
        recognize(text, date, &mut out);
    }
    let mut found = out.found;
    found.sort_by_key(|f| f.start);
    let chars = CharIndex::new(text);
    found
        .into_iter()
        .map(|f| Temporal {
            text: text[f.start..f.end].to_string(),
            label: f.label,
            value: f.value,
            unit: f.unit,
            start: f.start,
            end: f.end,
            char_start: chars.at(f.start),
            char_end: chars.at(f.end),
        })
        .collect()
}

/// A recognizer: adds what it finds in the text (resolved against the article date).
type Recognizer = fn(&str, Option<NaiveDate>, &mut Collector);

/// Priority order: amounts before the numbers inside them, explicit dates before months,
/// weekdays, relative expressions and years, fractions and ordinals before bare cardinals.
const RECOGNIZERS: [Recognizer; 14] = [
    money,
    percent,
    iso_dates,
    day_month_dates,
    months,
    weekdays,
    relative_dates,
    years,
    times,
    durations,
    quantities,
    fractions,
    ordinals,
    cardinals,
];

/// MONEY: £5m, $1.2 billion, €300, 40 million pounds.
fn money(text: &str, _: Option<NaiveDate>, out: &mut Collector) {
    static MONEY: OnceLock<Regex> = OnceLock::new();
    let money = re(
        &MONEY,
        r"(?i)([£$€])\s?(\d[\d,]*(?:\.\d+)?)(?:\s?(bn|m|k|tn|million|billion|trillion)\b)?|\b(\d[\d,]*(?:\.\d+)?)(?:\s(million|billion|trillion))?\s(pounds|dollars|euros)\b",
    );
    for c in money.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let (amount, sc, cur) = match (c.get(1), c.get(4)) {
            (Some(sym), _) => (c.get(2), c.get(3), sym.as_str()),
            (None, Some(n)) => (Some(n), c.get(5), c.get(6).map_or("", |m| m.as_str())),
            _ => continue,
        };
        let currency = match cur.to_ascii_lowercase().as_str() {
            "£" | "pounds" => "GBP",
            "$" | "dollars" => "USD",
            _ => "EUR",
        };
        let value = amount
            .and_then(|a| parse_number(a.as_str()))
            .map(|v| v * sc.map_or(1.0, |s| scale(s.as_str())));
        out.add(
            m.start(),
            m.end(),
            TemporalLabel::Money,
            value.map(Value::Number),
            Some(currency.into()),
        );
    }
}

/// PERCENT: 12%, 3.5 per cent.
fn percent(text: &str, _: Option<NaiveDate>, out: &mut Collector) {
    static PERCENT: OnceLock<Regex> = OnceLock::new();
    let percent = re(&PERCENT, r"(?i)\b(\d+(?:\.\d+)?)\s?(?:%|per\s?cent\b)");
    for c in percent.captures_iter(text) {
        let (Some(m), Some(n)) = (c.get(0), c.get(1)) else {
            continue;
        };
        out.add(
            m.start(),
            m.end(),
            TemporalLabel::Percent,
            parse_number(n.as_str()).map(Value::Number),
            Some("%".into()),
        );
    }
}

/// DATE: 2022-02-24.
fn iso_dates(text: &str, _: Option<NaiveDate>, out: &mut Collector) {
    static ISO: OnceLock<Regex> = OnceLock::new();
    for m in re(&ISO, r"\b\d{4}-\d{2}-\d{2}\b").find_iter(text) {
        let v = NaiveDate::parse_from_str(m.as_str(), "%Y-%m-%d")
            .ok()
            .map(|d| Value::Text(d.to_string()));
        out.add(m.start(), m.end(), TemporalLabel::Date, v, None);
    }
}

/// DATE: 24 February, February 24th, 24th of February 2022.
fn day_month_dates(text: &str, date: Option<NaiveDate>, out: &mut Collector) {
    static MDY: OnceLock<Regex> = OnceLock::new();
    let mdy = re(
        &MDY,
        &format!(
            r"\b(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({MONTHS})|({MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b)(?:,?\s+(\d{{4}})\b)?"
        ),
    );
    for c in mdy.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let (day, month) = match (c.get(1), c.get(2), c.get(3), c.get(4)) {
            (Some(d), Some(mo), _, _) => (d, mo),
            (_, _, Some(mo), Some(d)) => (d, mo),
            _ => continue,
        };
        let (Some(month), Ok(day)) = (month_number(month.as_str()), day.as_str().parse::<u32>())
        else {
            continue;
        };
        let year = c.get(5).and_then(|y| y.as_str().parse::<i32>().ok());
        let v = resolve_day(date, year, month, day).map(|d| Value::Text(d.to_string()));
        out.add(m.start(), m.end(), TemporalLabel::Date, v, None);
    }
}

/// DATE: September, last March, May 2021 ("May" alone only after "in", "since", …).
fn months(text: &str, date: Option<NaiveDate>, out: &mut Collector) {
    static MONTH: OnceLock<Regex> = OnceLock::new();
    let month_re = re(
        &MONTH,
        r"\b(?:(last|next|this|early|late|mid-?)\s+)?(January|February|March|April|June|July|August|September|October|November|December|May)\b(?:\s+(\d{4})\b)?",
    );
    for c in month_re.captures_iter(text) {
        let (Some(m), Some(name)) = (c.get(0), c.get(2)) else {
            continue;
        };
        // "May" is a month only with a year or after "in"/"since"/"last"...
        if name.as_str() == "May"
            && c.get(3).is_none()
            && c.get(1).is_none()
            && !text[..m.start()].trim_end().ends_with(['n', 'e'])
        {
            continue;
        }
        let Some(month) = month_number(name.as_str()) else {
            continue;
        };
        let year = c.get(3).and_then(|y| y.as_str().parse::<i32>().ok());
        let v = resolve_month(date, year, month).map(Value::Text);
        out.add(m.start(), m.end(), TemporalLabel::Date, v, None);
    }
}

/// DATE: Friday (the last one on or before the article date), next Monday, last Sunday.
fn weekdays(text: &str, date: Option<NaiveDate>, out: &mut Collector) {
    static WEEKDAY: OnceLock<Regex> = OnceLock::new();
    let weekday_re = re(
        &WEEKDAY,
        &format!(r"\b(?:(last|next|this)\s+)?({WEEKDAYS})\b"),
    );
    for c in weekday_re.captures_iter(text) {
        let (Some(m), Some(name)) = (c.get(0), c.get(2)) else {
            continue;
        };
        let v = date.zip(weekday(name.as_str())).map(|(d, w)| {
            Value::Text(resolve_weekday(d, w, c.get(1).map(|x| x.as_str())).to_string())
        });
        out.add(m.start(), m.end(), TemporalLabel::Date, v, None);
    }
}

/// The day a weekday name refers to, seen from `date`: the last one on or before it, the
/// next one after it (`next`), or the one before a same-named article date (`last`).
fn resolve_weekday(date: NaiveDate, day: Weekday, which: Option<&str>) -> NaiveDate {
    let (d, w) = (
        date.weekday().num_days_from_monday(),
        day.num_days_from_monday(),
    );
    let back = (d + 7 - w) % 7;
    match which {
        Some("next") => date + Duration::days(((w + 7 - d) % 7).max(1) as i64),
        Some("last") if back == 0 => date - Duration::days(7),
        _ => date - Duration::days(back as i64),
    }
}

/// DATE: yesterday, last week, this year, three days ago.
fn relative_dates(text: &str, date: Option<NaiveDate>, out: &mut Collector) {
    static RELATIVE: OnceLock<Regex> = OnceLock::new();
    let relative = re(
        &RELATIVE,
        r"(?i)\b(?:(yesterday|today|tomorrow|tonight|last night|this morning|this afternoon|this evening)|(last|next|this|earlier this|later this)\s+(week|month|year)|(a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+)\s+(day|week|month|year)s?\s+ago)\b",
    );
    for c in relative.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        // "Today" inside a sentence is a name ("BBC Radio 4's Today programme").
        let head = text[..m.start()].trim_end();
        let sentence_initial =
            head.is_empty() || head.ends_with(['.', '!', '?', '\n', '“', '"', ':', '‘', '\'']);
        if m.as_str().starts_with(char::is_uppercase) && !sentence_initial {
            continue;
        }
        let v = date.and_then(|d| resolve_relative(d, &c));
        out.add(
            m.start(),
            m.end(),
            TemporalLabel::Date,
            v.map(Value::Text),
            None,
        );
    }
}

/// The value of a relative date expression matched by [`relative_dates`]' pattern.
fn resolve_relative(d: NaiveDate, c: &regex::Captures) -> Option<String> {
    let lower = |i: usize| c.get(i).map(|m| m.as_str().to_ascii_lowercase());
    if let Some(word) = lower(1) {
        let off = match word.as_str() {
            "yesterday" | "last night" => -1,
            "tomorrow" => 1,
            _ => 0,
        };
        return Some((d + Duration::days(off)).to_string());
    }
    if let (Some(which), Some(unit)) = (lower(2), lower(3)) {
        let delta = match which.as_str() {
            "last" => -1,
            "next" => 1,
            _ => 0,
        };
        return Some(match unit.as_str() {
            "week" => {
                let w = (d + Duration::days(7 * delta)).iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            "month" => {
                let (y, m) = shift_month(d.year(), d.month(), delta as i32);
                format!("{y}-{m:02}")
            }
            _ => format!("{}", d.year() + delta as i32),
        });
    }
    let n = number(c.get(4)?.as_str())? as i64;
    Some(match lower(5)?.as_str() {
        "day" => (d - Duration::days(n)).to_string(),
        "week" => (d - Duration::days(7 * n)).to_string(),
        "month" => {
            let (y, m) = shift_month(d.year(), d.month(), -(n as i32));
            format!("{y}-{m:02}")
        }
        _ => format!("{}", d.year() - n as i32),
    })
}

/// DATE: a year after a preposition ("in 2014", "since 1991").
fn years(text: &str, _: Option<NaiveDate>, out: &mut Collector) {
    static YEAR: OnceLock<Regex> = OnceLock::new();
    for c in re(
        &YEAR,
        r"\b(?:in|since|by|until|of|from|early|late|before|after)\s+((?:19|20)\d{2})\b",
    )
    .captures_iter(text)
    {
        let Some(y) = c.get(1) else { continue };
        out.add(
            y.start(),
            y.end(),
            TemporalLabel::Date,
            Some(Value::Text(y.as_str().into())),
            None,
        );
    }
}

/// TIME: 5am, 10:30 pm, 18:00 GMT.
fn times(text: &str, _: Option<NaiveDate>, out: &mut Collector) {
    static TIME: OnceLock<Regex> = OnceLock::new();
    let time = re(
        &TIME,
        r"(?i)\b(\d{1,2})(?::(\d{2}))?\s?(am|pm|a\.m\.|p\.m\.)|\b(\d{1,2}):(\d{2})\s?(?:GMT|BST|UTC|CET)\b",
    );
    for c in time.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let (h, min, pm) = match (c.get(1), c.get(4)) {
            (Some(h), _) => {
                let pm = c
                    .get(3)
                    .is_some_and(|x| x.as_str().to_ascii_lowercase().starts_with('p'));
                (h, c.get(2), pm)
            }
            (None, Some(h)) => (h, c.get(5), false),
            _ => continue,
        };
        let Ok(mut hour) = h.as_str().parse::<u32>() else {
            continue;
        };
        let minute = min
            .and_then(|x| x.as_str().parse::<u32>().ok())
            .unwrap_or(0);
        if pm && hour < 12 {
            hour += 12;
        } else if !pm && hour == 12 && c.get(3).is_some() {
            hour = 0;
        }
        let v = (hour < 24 && minute < 60).then(|| Value::Text(format!("{hour:02}:{minute:02}")));
        out.add(m.start(), m.end(), TemporalLabel::Time, v, None);
    }
}

/// DURATION: three days, 24 hours, two years.
fn durations(text: &str, _: Option<NaiveDate>, out: &mut Collector) {
    static DURATION: OnceLock<Regex> = OnceLock::new();
    let duration = re(
        &DURATION,
        &format!(
            r"(?i)\b(a|an|{NUM_WORDS}|\d+(?:\.\d+)?)\s+(second|minute|hour|day|week|month|year|decade)s?\b"
        ),
    );
    for c in duration.captures_iter(text) {
        let (Some(m), Some(n), Some(u)) = (c.get(0), c.get(1), c.get(2)) else {
            continue;
        };
        let Some(n) = number(n.as_str()) else {
            continue;
        };
        let v = match u.as_str().to_ascii_lowercase().as_str() {
            "second" => format!("PT{n}S"),
            "minute" => format!("PT{n}M"),
            "hour" => format!("PT{n}H"),
            "day" => format!("P{n}D"),
            "week" => format!("P{n}W"),
            "month" => format!("P{n}M"),
            "year" => format!("P{n}Y"),
            _ => format!("P{}Y", n * 10.0),
        };
        out.add(
            m.start(),
            m.end(),
            TemporalLabel::Duration,
            Some(Value::Text(v)),
            None,
        );
    }
}

/// QUANTITY: 6,000 sq km, 40 miles, 3 tonnes.
fn quantities(text: &str, _: Option<NaiveDate>, out: &mut Collector) {
    static QUANTITY: OnceLock<Regex> = OnceLock::new();
    let quantity = re(
        &QUANTITY,
        r"(?i)\b(\d[\d,]*(?:\.\d+)?)\s?(sq(?:uare)?\.?\s?(?:km|kilometres|kilometers|miles|mi|metres|meters|m)|km²|km2|km|kilometres|kilometers|miles|mi|metres|meters|kg|kilograms|tonnes|tons|litres|liters|mph|km/h)\b",
    );
    for c in quantity.captures_iter(text) {
        let (Some(m), Some(n), Some(u)) = (c.get(0), c.get(1), c.get(2)) else {
            continue;
        };
        out.add(
            m.start(),
            m.end(),
            TemporalLabel::Quantity,
            parse_number(n.as_str()).map(Value::Number),
            Some(unit_symbol(&u.as_str().to_ascii_lowercase()).into()),
        );
    }
}

/// The symbol of a (lower-case) unit as written in the text.
fn unit_symbol(u: &str) -> &'static str {
    if u.starts_with("sq") {
        return if u.contains("mi") {
            "mi²"
        } else if u.ends_with("km") || u.contains("kilo") {
            "km²"
        } else {
            "m²"
        };
    }
    match u {
        "km²" | "km2" => "km²",
        "km" | "kilometres" | "kilometers" => "km",
        "miles" | "mi" => "mi",
        "metres" | "meters" => "m",
        "kg" | "kilograms" => "kg",
        "tonnes" | "tons" => "t",
        "litres" | "liters" => "l",
        "mph" => "mph",
        _ => "km/h",
    }
}

/// CARDINAL: a fifth, one half, two-thirds.
fn fractions(text: &str, _: Option<NaiveDate>, out: &mut Collector) {
    static FRACTION: OnceLock<Regex> = OnceLock::new();
    let fraction = re(
        &FRACTION,
        r"(?i)\b(?:a|one)\s+(half|third|quarter|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\b|\b(two|three)[-\s](thirds|quarters|fifths)\b",
    );
    let den = |w: &str| match w.to_ascii_lowercase().trim_end_matches('s') {
        "half" => 2.0,
        "third" => 3.0,
        "quarter" | "fourth" => 4.0,
        "fifth" => 5.0,
        "sixth" => 6.0,
        "seventh" => 7.0,
        "eighth" => 8.0,
        "ninth" => 9.0,
        _ => 10.0,
    };
    for c in fraction.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let v = match (c.get(1), c.get(2), c.get(3)) {
            (Some(d), _, _) => 1.0 / den(d.as_str()),
            (None, Some(n), Some(d)) => word_number(n.as_str()).unwrap_or(1.0) / den(d.as_str()),
            _ => continue,
        };
        let v = (v * 1e6).round() / 1e6;
        out.add(
            m.start(),
            m.end(),
            TemporalLabel::Cardinal,
            Some(Value::Number(v)),
            None,
        );
    }
}

/// ORDINAL: first, 3rd.
fn ordinals(text: &str, _: Option<NaiveDate>, out: &mut Collector) {
    const WORDS: [&str; 10] = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth",
    ];
    static ORDINAL: OnceLock<Regex> = OnceLock::new();
    let ordinal = re(
        &ORDINAL,
        r"(?i)\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|(\d+)(?:st|nd|rd|th))\b",
    );
    for c in ordinal.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let v = match c.get(2) {
            Some(n) => n.as_str().parse::<f64>().ok(),
            None => WORDS
                .iter()
                .position(|w| m.as_str().eq_ignore_ascii_case(w))
                .map(|i| i as f64 + 1.0),
        };
        out.add(
            m.start(),
            m.end(),
            TemporalLabel::Ordinal,
            v.map(Value::Number),
            None,
        );
    }
}

/// CARDINAL: 80,000 (troops), 1.5 million, two.
fn cardinals(text: &str, _: Option<NaiveDate>, out: &mut Collector) {
    static CARDINAL: OnceLock<Regex> = OnceLock::new();
    let cardinal = re(
        &CARDINAL,
        &format!(
            r"(?i)\b(\d[\d,]*(?:\.\d+)?|{NUM_WORDS})(?:\s(million|billion|trillion|thousand))?\b(?:\s([a-z]+))?"
        ),
    );
    for c in cardinal.captures_iter(text) {
        let (Some(m), Some(n)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let Some(base) = number(n.as_str()) else {
            continue;
        };
        // A bare number word "one" is too often a pronoun ("no one"): keep digits and larger words.
        if n.as_str().eq_ignore_ascii_case("one") && c.get(2).is_none() {
            continue;
        }
        let value = base * c.get(2).map_or(1.0, |s| scale(s.as_str()));
        let end = c.get(2).map_or(n.end(), |s| s.end());
        let unit = c
            .get(3)
            .map(|u| u.as_str())
            .filter(|u| is_counted_noun(u))
            .map(str::to_string);
        out.add(
            m.start(),
            end,
            TemporalLabel::Cardinal,
            Some(Value::Number(value)),
            unit,
        );
    }
}

/// A lower-case plural noun that a number counts ("troops", "people").
fn is_counted_noun(word: &str) -> bool {
    const IRREGULAR: [&str; 6] = ["people", "children", "men", "women", "staff", "personnel"];
    const NOT: [&str; 8] = ["was", "has", "is", "as", "its", "this", "his", "towns's"];
    let lower = word.chars().all(|c| c.is_ascii_lowercase());
    lower
        && !NOT.contains(&word)
        && (IRREGULAR.contains(&word)
            || (word.len() > 3 && word.ends_with('s') && !word.ends_with("ss")))
}

fn shift_month(year: i32, month: u32, delta: i32) -> (i32, u32) {
    let total = year * 12 + month as i32 - 1 + delta;
    (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32)
}

/// A day and month without a year take the article's year, or the year before when that
/// would put them more than a month after the article.
fn resolve_day(
    date: Option<NaiveDate>,
    year: Option<i32>,
    month: u32,
    day: u32,
) -> Option<NaiveDate> {
    match (year, date) {
        (Some(y), _) => NaiveDate::from_ymd_opt(y, month, day),
        (None, Some(d)) => {
            let same = NaiveDate::from_ymd_opt(d.year(), month, day)?;
            if same > d + Duration::days(31) {
                NaiveDate::from_ymd_opt(d.year() - 1, month, day)
            } else {
                Some(same)
            }
        }
        (None, None) => None,
    }
}

fn resolve_month(date: Option<NaiveDate>, year: Option<i32>, month: u32) -> Option<String> {
    let y = match (year, date) {
        (Some(y), _) => y,
        (None, Some(d)) if month > d.month() + 1 => d.year() - 1,
        (None, Some(d)) => d.year(),
        (None, None) => return None,
    };
    Some(format!("{y}-{month:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    fn values(
        text: &str,
        date: Option<NaiveDate>,
    ) -> Vec<(String, TemporalLabel, Option<Value>, Option<String>)> {
        find(text, date, &[])
            .into_iter()
            .map(|t| (t.text, t.label, t.value, t.unit))
            .collect()
    }

    fn txt(s: &str) -> Option<Value> {
        Some(Value::Text(s.into()))
    }

    #[test]
    fn dates_resolve_against_the_article_date() {
        let v = values("It began on February 24 and ended on Friday. Yesterday, last month and in September were quiet, since 2014.", d(2022, 11, 12));
        let got: Vec<_> = v.iter().map(|x| (x.0.as_str(), x.2.clone())).collect();
        assert_eq!(
            got,
            vec![
                ("February 24", txt("2022-02-24")),
                ("Friday", txt("2022-11-11")),
                ("Yesterday", txt("2022-11-11")),
                ("last month", txt("2022-10")),
                ("September", txt("2022-09")),
                ("2014", txt("2014")),
            ]
        );
    }

    #[test]
    fn explicit_years_and_no_article_date() {
        assert_eq!(values("on February 24 2022", None)[0].2, txt("2022-02-24"));
        assert_eq!(values("on 2 February 2023", None)[0].2, txt("2023-02-02"));
        assert_eq!(values("on Friday", None)[0].2, None);
        // December mentioned in a January article is last December.
        assert_eq!(values("in December", d(2023, 1, 5))[0].2, txt("2022-12"));
    }

    #[test]
    fn numbers_with_units() {
        let v = values("80,000 troops took 6,000 sq km, about a fifth of it, for £5m and 12.5% in 3 days at 5am.", None);
        let got: Vec<_> = v
            .iter()
            .map(|x| (x.1, x.2.clone(), x.3.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    TemporalLabel::Cardinal,
                    Some(Value::Number(80000.0)),
                    Some("troops")
                ),
                (
                    TemporalLabel::Quantity,
                    Some(Value::Number(6000.0)),
                    Some("km²")
                ),
                (TemporalLabel::Cardinal, Some(Value::Number(0.2)), None),
                (TemporalLabel::Money, Some(Value::Number(5e6)), Some("GBP")),
                (TemporalLabel::Percent, Some(Value::Number(12.5)), Some("%")),
                (TemporalLabel::Duration, txt("P3D"), None),
                (TemporalLabel::Time, txt("05:00"), None),
            ]
        );
    }

    #[test]
    fn no_false_dates_or_numbers() {
        assert!(values("Theresa May said no one would march.", d(2022, 1, 1)).is_empty());
        assert!(values("The Mayor met people.", None).is_empty());
    }

    #[test]
    fn capitalised_today_inside_a_sentence_is_a_name() {
        let v = values(
            "He told BBC Radio 4's Today programme. Today it rained.",
            d(2022, 11, 12),
        );
        let got: Vec<_> = v.iter().map(|x| (x.0.as_str(), x.2.clone())).collect();
        assert_eq!(
            got,
            vec![
                ("4", Some(Value::Number(4.0))),
                ("Today", txt("2022-11-12"))
            ]
        );
        // The pipeline passes entity spans as `skip`, which removes the "4" inside the name.
        assert!(find("BBC Radio 4", None, &[(0, 11)]).is_empty());
    }

    #[test]
    fn skipped_spans_are_left_alone() {
        assert!(find("2 min read", None, &[(0, 10)]).is_empty());
    }
}

/// The examples of this module's documentation, as tests (the module is internal).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn example_1() {
        use crate::temporal::article_date;
        let (d, span) = article_date(" date 2022-11-12 \n\nBody.").unwrap();
        assert_eq!(d.to_string(), "2022-11-12");
        assert_eq!(span, (1, 16));
        assert_eq!(
            article_date("Thu, 2 February 2023\n\nText")
                .unwrap()
                .0
                .to_string(),
            "2023-02-02"
        );
        assert!(article_date("Russia withdrew on 2 February 2023.").is_none());
    }

    #[test]
    fn example_2() {
        use crate::temporal::{find, TemporalLabel, Value};
        let d = chrono::NaiveDate::from_ymd_opt(2022, 11, 12);
        let t = find(
            "Troops left on Friday, as 80,000 soldiers fled since February 24.",
            d,
            &[],
        );
        assert_eq!(t[0].value, Some(Value::Text("2022-11-11".into())));
        assert_eq!(
            (t[1].label, t[1].value.clone(), t[1].unit.as_deref()),
            (
                TemporalLabel::Cardinal,
                Some(Value::Number(80000.0)),
                Some("soldiers")
            )
        );
        assert_eq!(t[2].value, Some(Value::Text("2022-02-24".into())));
    }
}
