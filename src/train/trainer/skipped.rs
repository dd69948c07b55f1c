//! The unreadable images a run met, each said once. The loader meets a broken file again in
//! every epoch (its failure is cached, not its absence), and validation and test images are
//! met outside the training loop: the count is of files, and a broken validation or test image
//! is said too, since the metrics then cover one image fewer.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::data::Skipped;
use crate::train::emitter::Emitter;
use crate::train::event::Event;

#[derive(Default)]
pub(crate) struct SkippedImages(BTreeSet<PathBuf>);

impl SkippedImages {
    /// Warns of each image of `skipped` not met before, in the `split` it belongs to.
    pub(crate) fn note(&mut self, em: &mut Emitter, split: &str, skipped: &[Skipped]) {
        for s in skipped {
            if self.0.insert(s.path.clone()) {
                em.emit(Event::Warning {
                    message: format!("skipped unreadable {split} image {}: {}", s.path.display(), s.reason),
                });
            }
        }
    }

    /// The files met so far.
    pub(crate) fn count(&self) -> usize {
        self.0.len()
    }
}
