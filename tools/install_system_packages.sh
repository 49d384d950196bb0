#!/usr/bin/env bash
# The Debian packages the audio-domains corpus runs: espeak-ng (speech), fluidsynth and the FluidR3 General
# MIDI soundfont (music). Installs them with apt-get when one is missing; does nothing when all are there.
set -euo pipefail
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v fluidsynth >/dev/null 2>&1 || missing+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || [ -n "${AVIKIT_SOUNDFONT:-}" ] || missing+=(fluid-soundfont-gm)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "not root and no sudo: run 'apt-get install ${missing[*]}' as root" >&2
        exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
command -v espeak-ng >/dev/null && command -v fluidsynth >/dev/null && [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ]
