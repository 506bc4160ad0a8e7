package main

import "fmt"

// plural is one when n is 1, else many.
func plural[N int | int64 | uint64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// count is "1 entry", "0 entries", "2 entries".
func count[N int | int64 | uint64](n N, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}
