#!/usr/bin/env bats
# --chunk-size goes through the library's size parser (rs_size_parse): digits and a K/M/G unit.
# What strtod used to take (exponents, nan, inf, hex, fractions) is refused with exit 2 and a
# message naming the text, before any store is opened.

setup() {
	load helpers
}

@test "--chunk-size refuses what is not digits and a unit, with exit 2" {
	for bad in 1e30G nan inf NaN 0x10 -5 +5 1.5M "" " 16K" 16KK 99999999999999999999 \
		18446744073709551615G; do
		run regship push --chunk-size "$bad" oci:"$BATS_TEST_TMPDIR/none":v1 127.0.0.1:1/x/y:z
		[ "$status" -eq 2 ] || { echo "\"$bad\": status $status: $output"; false; }
		[[ $output == *"--chunk-size: invalid size \"$bad\""* ]] || { echo "\"$bad\": $output"; false; }
	done
	# the two messages users meet most
	run regship push --chunk-size 1e30G oci:"$BATS_TEST_TMPDIR/none":v1 127.0.0.1:1/x/y:z
	[[ $output == *'unknown unit "e30G"'* ]]
	run regship copy --chunk-size 99999999999999999999G oci:"$BATS_TEST_TMPDIR/none":v1 127.0.0.1:1/x/y:z
	[ "$status" -eq 2 ]
	[[ $output == *"out of range"* ]]
}

@test "--chunk-size below 1K is refused; a valid size reaches the source" {
	run regship push --chunk-size 1023 oci:"$BATS_TEST_TMPDIR/none":v1 127.0.0.1:1/x/y:z
	[ "$status" -eq 2 ]
	[[ $output == *'--chunk-size: at least 1K, not "1023"'* ]]
	# 16K, 8MiB, 1g parse: the command goes on to open the (missing) source, exit 2 naming it
	for good in 16K 8MiB 1g 65536; do
		run regship push --chunk-size "$good" oci:"$BATS_TEST_TMPDIR/none":v1 127.0.0.1:1/x/y:z
		[ "$status" -eq 2 ] || { echo "$good: status $status: $output"; false; }
		[[ $output == *"$BATS_TEST_TMPDIR/none: no such directory"* ]] || { echo "$good: $output"; false; }
		[[ $output != *"--chunk-size"* ]]
	done
}
