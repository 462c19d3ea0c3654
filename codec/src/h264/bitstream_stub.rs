// TEMPORARY stub until bitstream.rs lands.
pub fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut v = Vec::new();
    let mut i = 0;
    let mut start = None;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            if let Some(s) = start {
                v.push(&data[s..i]);
            }
            start = Some(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    if let Some(s) = start {
        v.push(&data[s..]);
    }
    v.into_iter()
}
pub fn nal_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| b & 0x1f)
}
pub struct Sps;
impl Sps {
    pub fn width(&self) -> u32 {
        0
    }
    pub fn height(&self) -> u32 {
        0
    }
}
pub fn parse_sps(_nal: &[u8]) -> Result<Sps, ()> {
    Err(())
}
