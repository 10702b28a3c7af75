"""photostyle: photorealistic, flicker-free style transfer for video."""
