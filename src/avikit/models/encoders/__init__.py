"""The self-supervised audio-visual trunk: the joint encoder, its frozen use by task heads, media to
features."""
