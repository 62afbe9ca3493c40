//! Device health on the wire: the one mapping of the flow's device health to the protocol's
//! `DeviceStatus`, used for the heartbeat's device list and for device-fault records.

use senim_protocol::{DeviceHealth, DeviceStatus};

use crate::flow::{Device, Health};

/// A device's name on the wire (heartbeats and fault records).
pub fn device_name(device: Device) -> &'static str {
    match device {
        Device::Scanner => "scanner",
        Device::Camera => "camera",
        Device::Microphone => "microphone",
        Device::Printer => "printer",
        Device::Storage => "disk",
    }
}

/// A device's health as the call-centre reads it.
pub fn device_status(health: Health) -> DeviceStatus {
    match health {
        Health::Ok => DeviceStatus::Ok,
        Health::Faulty => DeviceStatus::Fail,
        Health::Absent => DeviceStatus::Absent,
    }
}

/// One device's entry in the heartbeat's device list.
pub fn device_health(device: Device, health: Health) -> DeviceHealth {
    DeviceHealth {
        device: device_name(device).into(),
        status: device_status(health),
        detail: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_device_has_a_wire_name_and_every_health_a_status() {
        let names: Vec<&str> = Device::ALL.into_iter().map(device_name).collect();
        assert_eq!(
            names,
            ["scanner", "camera", "microphone", "printer", "disk"]
        );
        let h = device_health(Device::Storage, Health::Faulty);
        assert_eq!(
            (h.device.as_str(), h.status, h.detail),
            ("disk", DeviceStatus::Fail, None)
        );
        assert_eq!(device_status(Health::Absent), DeviceStatus::Absent);
        assert_eq!(device_status(Health::Ok), DeviceStatus::Ok);
    }
}
