//! Serial barcode scanner (interim shell until the driver lands).
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suffix { Cr, Lf, CrLf, None }

#[derive(Debug, Clone)]
pub struct ScannerOptions {
    pub port: String, pub baud: u32, pub suffix: Suffix, pub inter_byte_timeout: Duration,
    pub max_line_bytes: usize, pub duplicate_window: Duration, pub mrz_assembly_window: Duration,
}
impl Default for ScannerOptions {
    fn default() -> Self {
        Self { port: String::new(), baud: 9600, suffix: Suffix::CrLf, inter_byte_timeout: Duration::from_millis(50),
            max_line_bytes: 512, duplicate_window: Duration::from_millis(1000), mrz_assembly_window: Duration::from_millis(300) }
    }
}
pub struct ScanRead { pub classified: crate::identity::Classified }
pub enum ScannerHealth { Connected, Disconnected { reason: String } }
pub enum ScannerEvent { Read(ScanRead), Health(ScannerHealth), FramingError(String) }
pub struct ScannerHandle;
#[derive(Debug, thiserror::Error)]
#[error("scanner driver not built yet")]
pub struct ScannerError;
pub fn spawn(_o: ScannerOptions, _s: impl FnMut(ScannerEvent) + Send + 'static) -> Result<ScannerHandle, ScannerError> { Err(ScannerError) }
