# shellcheck shell=sh
# What the guest benchmarks share (busybox sh, after guest-lib.sh): a clock, timed rounds, medians
# with their spread, the rounds' own ratios and a verdict against a target. run-guest-bench puts it
# beside the script, which sources it: . ./guest-bench-lib.sh

# Busybox's date has no sub-second time: /proc/uptime, in hundredths, against ops of 0.3 s and more.
ms() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}0"; }

# die MESSAGE: the benchmark cannot go on; the drivers of $DEVS say where the devices were left.
die() {
        not_ok "$*"
        for d in $DEVS; do echo "#   $d: driver '$(driver_of "$d")', override '$(override_of "$d")'"; done
        echo "1..$n"
        exit 1
}

# timed LABEL FUNCTION: runs it, appends its milliseconds to /tmp/t.LABEL, sets $took. A failure
# ends the benchmark: a move that did not happen measures nothing.
timed() {
        t0=$(ms)
        $2 || die "$1 failed in round $i"
        t1=$(ms)
        took=$((t1 - t0))
        echo $took >>/tmp/t.$1
}

# stats FILE: median, lowest, highest of a column of numbers.
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%d %d %d", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
# rstats A B [C]: the rounds' own ratios A / (B [+ C]): median, lowest, highest.
rstats() {
        if [ -n "$3" ]; then paste "$2" "$3" | awk '{ print $1 + $2 }' >/tmp/sum; set -- "$1" /tmp/sum; fi
        paste "$1" "$2" | awk '$2 > 0 { print $1 / $2 }' | sort -n |
                awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
show() { # label file
        set -- "$1" $(stats "$2")
        echo "# $1: median $2 ms (lowest $3, highest $4)"
}
# verdict RATIO TARGET DESCRIPTION: a TAP line; a missed target is a TODO, not a failure (the
# benchmark worked; the figure is what it is).
verdict() {
        if awk -v r="$1" -v t="$2" 'BEGIN { exit !(r <= t) }'; then
                ok "$3: ${1}x (target ${2}x)"
        else
                ok "$3: ${1}x (target ${2}x) # TODO target missed"
        fi
}
