//! The calendar a building's demand follows: weekdays, Saturdays, and Sundays, national
//! holidays and the site's closed days (New Year, Obon…), which count as holidays.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// What kind of day a date is, for demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DayType {
    /// Monday to Friday, not a holiday or closed day.
    Workday,
    /// Saturday, not a holiday or closed day.
    Saturday,
    /// Sunday, national holiday or closed day.
    Holiday,
}

impl DayType {
    /// Index 0 (workday), 1 (Saturday), 2 (holiday).
    pub fn index(self) -> usize {
        match self {
            DayType::Workday => 0,
            DayType::Saturday => 1,
            DayType::Holiday => 2,
        }
    }
}

/// Which national holidays apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Holidays {
    /// Japanese national holidays (国民の祝日), with substitute holidays (振替休日) and
    /// citizens' holidays (国民の休日), by the rules of the Act on National Holidays for
    /// 2000–2099 (see [`japanese_holidays`]).
    #[default]
    Japan,
    /// No national holidays (e.g. for data from elsewhere whose holidays are unknown).
    None,
}

/// A yearly run of closed days, e.g. New Year 12-29 … 01-03 or Obon 08-13 … 08-16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedPeriod {
    /// First day (month, day).
    pub from: (u32, u32),
    /// Last day (month, day), inclusive; may be in the next year (wraps past 12-31).
    pub to: (u32, u32),
}

impl ClosedPeriod {
    /// Whether `date` falls in the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        let md = (date.month(), date.day());
        if self.from <= self.to {
            self.from <= md && md <= self.to
        } else {
            md >= self.from || md <= self.to
        }
    }

    /// Parses `MM-DD..MM-DD` (or a single `MM-DD`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let md = |s: &str| -> Result<(u32, u32), String> {
            let (m, d) = s
                .trim()
                .split_once('-')
                .ok_or_else(|| format!("'{s}' is not MM-DD"))?;
            let m: u32 = m.parse().map_err(|_| format!("'{s}' is not MM-DD"))?;
            let d: u32 = d.parse().map_err(|_| format!("'{s}' is not MM-DD"))?;
            NaiveDate::from_ymd_opt(2000, m, d).ok_or_else(|| format!("'{s}' is not a day"))?;
            Ok((m, d))
        };
        match text.split_once("..") {
            Some((a, b)) => Ok(Self {
                from: md(a)?,
                to: md(b)?,
            }),
            None => {
                let day = md(text)?;
                Ok(Self { from: day, to: day })
            }
        }
    }
}

/// Japan's customary closed days: New Year (12-29 … 01-03) and Obon (08-13 … 08-16).
pub fn japanese_closed_days() -> Vec<ClosedPeriod> {
    vec![
        ClosedPeriod {
            from: (12, 29),
            to: (1, 3),
        },
        ClosedPeriod {
            from: (8, 13),
            to: (8, 16),
        },
    ]
}

/// The `n`-th `weekday` of `month` (n ≥ 1).
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

/// Japanese national holidays of `year` (2000–2099; empty outside), in date order:
/// the statutory holidays (国民の祝日) with the Happy Monday dates, the equinoxes by the
/// usual approximation (exact for 1980–2099), the 2019 enthronement days and the 2020/2021
/// Olympic moves; then citizens' holidays (a non-holiday between two holidays, 国民の休日)
/// and substitute holidays (the first non-holiday after a holiday on Sunday, 振替休日).
///
/// Written here rather than taken from a crate: `jpholiday` 0.2 needs rustc 1.96, and 0.1
/// lacks the 2021 moves.
pub fn japanese_holidays(year: i32) -> Vec<NaiveDate> {
    if !(2000..=2099).contains(&year) {
        return Vec::new();
    }
    let ymd = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d);
    let y = f64::from(year - 1980);
    let leap_shift = f64::from((year - 1980) / 4);
    let vernal = (20.8431 + 0.242194 * y - leap_shift).floor() as u32;
    let autumnal = (23.2488 + 0.242194 * y - leap_shift).floor() as u32;
    let mut base: Vec<Option<NaiveDate>> = vec![
        ymd(1, 1),
        nth_weekday(year, 1, Weekday::Mon, 2), // Coming of Age Day
        ymd(2, 11),
        ymd(3, vernal),
        ymd(4, 29),
        ymd(5, 3),
        ymd(5, 4),
        ymd(5, 5),
        ymd(9, autumnal),
        ymd(11, 3),
        ymd(11, 23),
    ];
    // Emperor's Birthday.
    base.push(match year {
        2020.. => ymd(2, 23),
        2019 => None,
        _ => ymd(12, 23),
    });
    // Marine Day.
    base.push(match year {
        2020 => ymd(7, 23),
        2021 => ymd(7, 22),
        2003.. => nth_weekday(year, 7, Weekday::Mon, 3),
        _ => ymd(7, 20),
    });
    // Mountain Day.
    base.push(match year {
        2020 => ymd(8, 10),
        2021 => ymd(8, 8),
        2016.. => ymd(8, 11),
        _ => None,
    });
    // Respect for the Aged Day.
    base.push(if year >= 2003 {
        nth_weekday(year, 9, Weekday::Mon, 3)
    } else {
        ymd(9, 15)
    });
    // Sports Day (Health and Sports Day until 2019).
    base.push(match year {
        2020 => ymd(7, 24),
        2021 => ymd(7, 23),
        _ => nth_weekday(year, 10, Weekday::Mon, 2),
    });
    if year == 2019 {
        base.push(ymd(5, 1)); // the Emperor's enthronement
        base.push(ymd(10, 22)); // the enthronement ceremony
    }
    let mut days: Vec<NaiveDate> = base.into_iter().flatten().collect();
    days.sort();
    days.dedup();
    let statutory = days.clone();
    // Citizens' holidays: a day between two statutory holidays.
    for pair in statutory.windows(2) {
        if pair[1] - pair[0] == chrono::Duration::days(2) {
            if let Some(mid) = pair[0].succ_opt() {
                days.push(mid);
            }
        }
    }
    // Substitute holidays: the first day after a Sunday holiday that is not a holiday.
    for h in statutory.iter().filter(|d| d.weekday() == Weekday::Sun) {
        let mut d = *h;
        while let Some(next) = d.succ_opt() {
            d = next;
            if !days.contains(&d) {
                days.push(d);
                break;
            }
        }
    }
    days.sort();
    days.dedup();
    days
}

/// Decides the [`DayType`] of dates.
#[derive(Debug, Clone)]
pub struct Calendar {
    holidays: Holidays,
    closed: Vec<ClosedPeriod>,
}

impl Calendar {
    /// A calendar with the given national holidays and closed days.
    pub fn new(holidays: Holidays, closed: Vec<ClosedPeriod>) -> Self {
        Self { holidays, closed }
    }

    /// Japanese holidays plus New Year and Obon closures.
    pub fn japan() -> Self {
        Self::new(Holidays::Japan, japanese_closed_days())
    }

    /// Whether `date` is a national holiday under this calendar.
    pub fn is_national_holiday(&self, date: NaiveDate) -> bool {
        match self.holidays {
            Holidays::None => false,
            Holidays::Japan => japanese_holidays(date.year()).contains(&date),
        }
    }

    /// The day type of `date`.
    pub fn day_type(&self, date: NaiveDate) -> DayType {
        if date.weekday() == Weekday::Sun
            || self.is_national_holiday(date)
            || self.closed.iter().any(|c| c.contains(date))
        {
            DayType::Holiday
        } else if date.weekday() == Weekday::Sat {
            DayType::Saturday
        } else {
            DayType::Workday
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn japanese_holidays_with_substitutes_and_citizens_days() {
        let c = Calendar::new(Holidays::Japan, Vec::new());
        // Fixed and Happy-Monday holidays.
        assert!(c.is_national_holiday(d(2025, 1, 1)));
        assert!(c.is_national_holiday(d(2025, 1, 13))); // Coming of Age Day (2nd Mon)
        assert!(c.is_national_holiday(d(2025, 3, 20))); // Vernal Equinox Day
        assert!(c.is_national_holiday(d(2025, 9, 23))); // Autumnal Equinox Day
                                                        // Substitute holiday: 2024-02-11 was a Sunday, so Monday 02-12 is off.
        assert!(c.is_national_holiday(d(2024, 2, 12)));
        // Citizens' holiday: 2026-09-22 lies between two holidays.
        assert!(c.is_national_holiday(d(2026, 9, 22)));
        // One-off: the 2019 enthronement day, with citizens' holidays either side.
        assert!(c.is_national_holiday(d(2019, 4, 30)));
        assert!(c.is_national_holiday(d(2019, 5, 1)));
        assert!(c.is_national_holiday(d(2019, 5, 2)));
        // The 2021 Olympic moves: Mountain Day on Sunday 08-08, substitute on 08-09.
        assert!(c.is_national_holiday(d(2021, 7, 22)) && c.is_national_holiday(d(2021, 7, 23)));
        assert!(c.is_national_holiday(d(2021, 8, 9)));
        assert!(!c.is_national_holiday(d(2021, 10, 11)));
        // Ordinary days.
        assert!(!c.is_national_holiday(d(2025, 8, 4)));
        assert!(!c.is_national_holiday(d(2024, 2, 13)));
        assert_eq!(c.day_type(d(2025, 8, 4)), DayType::Workday);
        assert_eq!(c.day_type(d(2025, 8, 2)), DayType::Saturday);
        assert_eq!(c.day_type(d(2025, 8, 3)), DayType::Holiday);
        assert_eq!(c.day_type(d(2025, 8, 11)), DayType::Holiday); // Mountain Day
    }

    #[test]
    fn the_2025_list_matches_the_cabinet_office() {
        // https://www8.cao.go.jp/chosei/shukujitsu/gaiyou.html (令和7年)
        let expected = [
            (1, 1),
            (1, 13),
            (2, 11),
            (2, 23),
            (2, 24),
            (3, 20),
            (4, 29),
            (5, 3),
            (5, 4),
            (5, 5),
            (5, 6),
            (7, 21),
            (8, 11),
            (9, 15),
            (9, 23),
            (10, 13),
            (11, 3),
            (11, 23),
            (11, 24),
        ];
        let got: Vec<(u32, u32)> = japanese_holidays(2025)
            .iter()
            .map(|x| (x.month(), x.day()))
            .collect();
        assert_eq!(got, expected);
        // 令和8年 (2026): 16 holidays plus substitute 05-06 and citizens' 09-22.
        let got26: Vec<(u32, u32)> = japanese_holidays(2026)
            .iter()
            .map(|x| (x.month(), x.day()))
            .collect();
        assert_eq!(
            got26,
            [
                (1, 1),
                (1, 12),
                (2, 11),
                (2, 23),
                (3, 20),
                (4, 29),
                (5, 3),
                (5, 4),
                (5, 5),
                (5, 6),
                (7, 20),
                (8, 11),
                (9, 21),
                (9, 22),
                (9, 23),
                (10, 12),
                (11, 3),
                (11, 23)
            ]
        );
    }

    #[test]
    fn closed_days_count_as_holidays_and_wrap_the_year() {
        let c = Calendar::japan();
        assert_eq!(c.day_type(d(2025, 12, 30)), DayType::Holiday);
        assert_eq!(c.day_type(d(2026, 1, 2)), DayType::Holiday);
        assert_eq!(c.day_type(d(2025, 8, 14)), DayType::Holiday);
        assert_eq!(c.day_type(d(2025, 8, 18)), DayType::Workday);
        let none = Calendar::new(Holidays::None, Vec::new());
        assert_eq!(none.day_type(d(2025, 1, 1)), DayType::Workday);
    }

    #[test]
    fn closed_periods_parse() {
        assert_eq!(
            ClosedPeriod::parse("12-29..01-03").unwrap(),
            ClosedPeriod {
                from: (12, 29),
                to: (1, 3)
            }
        );
        assert_eq!(ClosedPeriod::parse("05-01").unwrap().to, (5, 1));
        assert!(ClosedPeriod::parse("13-01").is_err());
        assert!(ClosedPeriod::parse("xx").is_err());
    }
}
