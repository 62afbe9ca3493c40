//! `[updates] quiet_hours = "02:00-05:00"`: the kiosk-local hours in which an installed update
//! may restart the kiosk (and only between citizens; the flow decides that part).

use chrono::NaiveTime;

/// A daily window of local time; it may cross midnight (`"23:00-04:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            from: NaiveTime::from_hms_opt(2, 0, 0).unwrap_or_default(),
            to: NaiveTime::from_hms_opt(5, 0, 0).unwrap_or_default(),
        }
    }
}

impl std::str::FromStr for QuietHours {
    type Err = String;

    /// `"HH:MM-HH:MM"`, two different times.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("{s:?}: expected \"HH:MM-HH:MM\" (kiosk local time), e.g. \"02:00-05:00\"");
        let (from, to) = s.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (from, to) = (time(from)?, time(to)?);
        if from == to {
            return Err(format!(
                "{s:?}: the window is empty; give two different times"
            ));
        }
        Ok(QuietHours { from, to })
    }
}

impl QuietHours {
    /// Whether `t` (kiosk local time) is inside the window (`from` included, `to` not).
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.from < self.to {
            self.from <= t && t < self.to
        } else {
            t >= self.from || t < self.to
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn windows_are_read_and_may_cross_midnight() {
        let q: QuietHours = "02:00-05:00".parse().unwrap();
        assert!(q.contains(at(2, 0)) && q.contains(at(4, 59)));
        assert!(!q.contains(at(5, 0)) && !q.contains(at(1, 59)) && !q.contains(at(14, 0)));
        let night: QuietHours = "23:30-01:00".parse().unwrap();
        assert!(night.contains(at(23, 45)) && night.contains(at(0, 30)));
        assert!(!night.contains(at(1, 0)) && !night.contains(at(12, 0)));
        for bad in [
            "",
            "02:00",
            "2-5",
            "25:00-03:00",
            "03:00-03:00",
            "02:00-05:00-06:00",
        ] {
            assert!(bad.parse::<QuietHours>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(QuietHours::default(), q);
    }
}
