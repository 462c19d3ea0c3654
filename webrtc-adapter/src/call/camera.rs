//! Where a participant's pictures come from: a [`Camera`] per participant and camera position
//! (front 0, rear 1), made by a [`CameraMaker`] the caller supplies. [`synthetic_cameras`]
//! gives the built-in synthetic scene (front at the size asked for, rear at 1920x1080).

use rtvc_codec::Frame;
use rtvc_codec::synthetic::SyntheticScene;

use super::CallError;

/// A source of pictures. Frames may have any size: the call scales them to the send size.
pub trait Camera: Send {
    /// Picture number `n` (30 per second of the camera's rate; loop when a clip ends).
    fn frame(&mut self, n: u64) -> Result<Frame, CallError>;
}

/// Makes the camera at `position` (0 front, 1 rear) for participant `participant`.
pub type CameraMaker = Box<dyn FnMut(usize, u8) -> Result<Box<dyn Camera>, CallError> + Send>;

struct Synthetic(SyntheticScene);

impl Camera for Synthetic {
    fn frame(&mut self, n: u64) -> Result<Frame, CallError> {
        Ok(self.0.frame(n))
    }
}

/// The synthetic scene: the front camera at `width`x`height`, the rear at 1920x1080; each
/// participant's scene starts at a different point so that streams differ.
pub fn synthetic_cameras(width: u32, height: u32, fps: f64) -> CameraMaker {
    Box::new(move |participant, position| {
        let (w, h) = if position == 0 {
            (width, height)
        } else {
            (1920, 1080)
        };
        let scene = SyntheticScene::new(w, h, fps)
            .map_err(|e| CallError::Setup(format!("synthetic {w}x{h}: {e}")))?;
        Ok(Box::new(Offset(Synthetic(scene), participant as u64 * 97)) as Box<dyn Camera>)
    })
}

struct Offset<C>(C, u64);

impl<C: Camera> Camera for Offset<C> {
    fn frame(&mut self, n: u64) -> Result<Frame, CallError> {
        self.0.frame(n + self.1)
    }
}
