# pinggaps.awk: the windows of lost echo requests in the output of `ping -D -O`, as
# "N lost (+A..+B s)" from the first line's time, so a figure like "HOST1 652/1597"
# says when in the step the overlay was down, to set beside the step's checks.
# A request counts as lost when no reply carries its sequence number; its time is
# that of its "no answer yet" line, or of the line before it when it has none.
/icmp_seq=/ {
  ts = substr($1, 2, index($1, "]") - 2) + 0
  if (t0 == "") t0 = ts
  split(substr($0, index($0, "icmp_seq=") + 9), a, /[^0-9]/)
  s = a[1] + 0
  if ($0 ~ /no answer yet/) { if (!(s in at)) at[s] = ts } else { got[s] = 1; at[s] = ts }
  if (s > max) max = s
}
function flush() {
  if (first == "") return
  printf "%s%d lost (+%.1f..+%.1f s)", (n++ ? ", " : ""), last - first + 1, from - t0, to - t0
  first = ""
}
END {
  for (s = 1; s <= max; s++) {
    if (s in at) seen = at[s]
    if (s in got) { flush(); continue }
    if (first == "") { first = s; from = seen }
    last = s
    to = seen
  }
  flush()
  if (!n) printf "none lost"
  print ""
}
