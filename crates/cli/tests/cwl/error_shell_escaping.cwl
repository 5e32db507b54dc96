# Copied from inside a shell string, the query keeps the shell's escaping.
fields eventID, eventName | filter eventName=\"ListBuckets\"
