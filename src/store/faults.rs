//! Device faults for the call-centre's fleet view: each committed with its outbox row, and read
//! back as its wire record.

use rusqlite::{params, TransactionBehavior};
use senim_protocol::{DeviceFaultRecord, DeviceStatus};

use super::{insert_outbox, new_key, parse_enum, parse_ts, ts, Store, StoreError};

impl Store {
    /// Records a device fault for the fleet view.
    pub fn record_device_fault(&mut self, fault: &DeviceFaultRecord) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO device_faults (device, status, detail, at) VALUES (?1, ?2, ?3, ?4)",
            params![
                fault.device,
                device_status_str(fault.status),
                fault.detail,
                ts(fault.at)
            ],
        )?;
        let id = tx.last_insert_rowid().to_string();
        insert_outbox(&tx, "device_fault", &id, &new_key("fault"), fault.at)?;
        tx.commit()?;
        Ok(())
    }

    /// A device fault behind an outbox row, as the call-centre receives it.
    pub(super) fn fault_record(&self, id: &str) -> Result<DeviceFaultRecord, StoreError> {
        let (device, status, detail, at) = self.conn.query_row(
            "SELECT device, status, detail, at FROM device_faults WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )?;
        Ok(DeviceFaultRecord {
            device,
            status: parse_device_status(&status)?,
            detail,
            at: parse_ts(&at)?,
        })
    }
}

fn device_status_str(s: DeviceStatus) -> &'static str {
    match s {
        DeviceStatus::Ok => "ok",
        DeviceStatus::Warn => "warn",
        DeviceStatus::Fail => "fail",
        DeviceStatus::Absent => "absent",
    }
}

fn parse_device_status(s: &str) -> Result<DeviceStatus, StoreError> {
    parse_enum(s, "device status")
}
