# Compare two canonical address lists (canon.awk output), the reference
# (libvirt) first and the candidate (devaddr) second, device by device.
# Prints one line per device:
#   "  = KEY ADDRESS ATTRS"             both agree
#   "  ! KEY libvirt: ... | devaddr: ..."  they differ, or one lacks it
# and a last line "agree A/T P%" (T = devices in either list).
# Run as: awk -v label=CASE -f compare.awk REF CAND
# (by name, so that an empty reference does not make the candidate one)
{ file = FILENAME == ARGV[1] ? 1 : 2 }
{
  key = $1
  rest = substr($0, length($1) + 2)
  if (!(key in seen)) { seen[key] = 1; order[++n] = key }
  if (file == 1) ref[key] = rest; else cand[key] = rest
}
END {
  agree = 0
  for (i = 1; i <= n; i++) {
    k = order[i]
    if ((k in ref) && (k in cand) && ref[k] == cand[k]) {
      agree++
      if (!quiet) print "  = " k " " ref[k]
    } else {
      r = (k in ref) ? ref[k] : "(absent)"
      c = (k in cand) ? cand[k] : "(absent)"
      print "  ! " k " libvirt: " r " | devaddr: " c
    }
  }
  pct = n ? int(agree * 1000 / n) / 10 : 100
  printf "agree %d/%d %s%%%s\n", agree, n, pct, (label != "" ? " " label : "")
}
