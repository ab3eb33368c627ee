# From devaddrctl --json output (vm show, lookup, import), print one line
# per reservation object, wherever it is nested:
#   ALIAS TYPE ADDRESS STATE BUILTIN      (BUILTIN: 1 for the machine's own)
# A small JSON reader: any whitespace, escapes kept as written; objects
# without alias, type and address are not reservations and print nothing.
# Portable awk (mawk).
{ text = text $0 "\n" }

function flush_object(d) {
  if ((d SUBSEP "alias") in member && (d SUBSEP "type") in member && (d SUBSEP "address") in member)
    print member[d, "alias"], member[d, "type"], member[d, "address"], \
          ((d SUBSEP "state") in member ? member[d, "state"] : "-"), \
          ((d SUBSEP "builtin") in member && member[d, "builtin"] == "true" ? 1 : 0)
  for (k in member) {
    split(k, parts, SUBSEP)
    if (parts[1] == d) delete member[k]
  }
}

END {
  n = length(text); i = 1; depth = 0
  while (i <= n) {
    c = substr(text, i, 1)
    if (c == "\"") {
      j = i + 1; s = ""
      while (j <= n) {
        ch = substr(text, j, 1)
        if (ch == "\\") { s = s substr(text, j, 2); j += 2; continue }
        if (ch == "\"") break
        s = s ch; j++
      }
      i = j + 1
      tok = s; kind = "string"
    } else if (c ~ /[{}\[\]:,]/) {
      i++
      if (c == "{") { depth++; expect_key[depth] = 1; isobj[depth] = 1; continue }
      if (c == "[") { depth++; expect_key[depth] = 0; isobj[depth] = 0; continue }
      if (c == "}") { flush_object(depth); depth--; continue }
      if (c == "]") { depth--; continue }
      if (c == ":") { expect_key[depth] = 0; continue }
      if (c == ",") { if (isobj[depth]) expect_key[depth] = 1; continue }
    } else if (c ~ /[ \t\r\n]/) {
      i++; continue
    } else {
      j = i
      while (j <= n && substr(text, j, 1) !~ /[ \t\r\n,}\]]/) j++
      tok = substr(text, i, j - i); kind = "bare"; i = j
    }
    if (depth > 0 && isobj[depth]) {
      if (expect_key[depth] && kind == "string") { key[depth] = tok; continue }
      member[depth, key[depth]] = tok
    }
  }
}
