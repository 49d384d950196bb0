"""Tokenizers and decoders of audio: the waveform codec, the mel tokenizer and the vocoders."""
