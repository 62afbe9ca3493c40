//! The call-centre configuration tests run against: open around the clock (so the red lamp
//! can light and calls ring at any hour), no holidays, plain HTTP cookies, a small free-space reserve. Shared by the
//! call-centre's tests and the kiosk's (`tests/support` includes this file with `#[path]`).

use senim_callcentre::config::Config;

pub fn test_config() -> Config {
    let mut config = Config::default();
    config.hours.opens = "00:00".into();
    config.hours.closes = "23:59".into();
    config.hours.working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .map(String::from)
        .to_vec();
    config.hours.holidays.clear();
    config.console.secure_cookies = false;
    // Tests run on whatever disk the machine has: keep only a small reserve.
    config.storage.reserve_mib = 16;
    config
}
