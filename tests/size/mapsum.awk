# Reads a GNU ld map file (-Wl,-Map) and prints one line per input section
# that was kept in the link: "<kind> <size> <file> <name>", kind being
# text, rodata, data or bss, size decimal, file the object (or
# archive(member)), name the function or object (the section name without
# its .text./.rodata. prefix; "(strings)" for string literals, which the
# linker may still merge across objects,
# "(other)" for an unnamed section). Alignment padding is "pad <size>".
function hex(s,    i, c, v) {
    v = 0; s = tolower(s); sub(/^0x/, "", s)
    for (i = 1; i <= length(s); i++) {
        c = index("0123456789abcdef", substr(s, i, 1)) - 1
        v = v * 16 + c
    }
    return v
}
function emit(sec, size, file,    kind, name) {
    if (sec ~ /^\.text/) kind = "text"
    else if (sec ~ /^\.rodata/) kind = "rodata"
    else if (sec ~ /^\.data/) kind = "data"
    else if (sec ~ /^\.bss/ || sec == "COMMON") kind = "bss"
    else return
    if (size == 0) return
    name = sec
    sub(/^\.(text|rodata|data|bss)\.?/, "", name)
    if (name ~ /^str1\./) name = "(strings)"
    else if (name ~ /\.str1\.[0-9]+$/) { sub(/\.str1\.[0-9]+$/, "", name); name = name " (strings)" }
    if (name == "") name = "(other)"
    print kind, size, file, name
}
/^Linker script and memory map/ { inmap = 1; next }
!inmap { next }
# The parts after the memory map (cross references) end it.
/^Cross Reference Table/ { exit }
{
    if (pending != "") {
        if ($1 ~ /^0x/ && $2 ~ /^0x/ && NF >= 3) emit(pending, hex($2), $3)
        pending = ""
        next
    }
}
/^ \*fill\*/ { if (NF >= 3) print "pad", hex($3); next }
/^ [.A-Z]/ {
    if (NF == 1) { pending = $1; next }
    if (NF >= 4 && $2 ~ /^0x/ && $3 ~ /^0x/) emit($1, hex($3), $4)
    next
}
