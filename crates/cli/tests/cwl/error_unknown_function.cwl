# An unknown function is reported at its name, with the closest one.
filter strcontain(srcAddr, "10.0.")
