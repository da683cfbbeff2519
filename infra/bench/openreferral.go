package main

import (
	"fmt"
	"io"

	"sectorhub/shared/openreferral"
)

const openReferralPath = "/openreferral/services"

// openReferral measures the Open Referral UK feed beside the directory routes it mirrors, in
// turns, at the live directory of n organisations: a page of 50 services against a page of 50
// organisations, and one service against the organisation it is made from (ids).
func (b *bench) openReferral(w io.Writer, n, requests int, ids []string) error {
	id := func(i int) string { return ids[i%len(ids)] }
	rows, err := b.inTurns(requests, b.search.LogicalID, []request{
		fixed("GET "+searchPath+"?per_page=50", searchPath+"?per_page=50"),
		fixed("GET "+openReferralPath+"?per_page=50", openReferralPath+"?per_page=50"),
		{name: "GET " + searchPath + "/{id}", path: func(i int) string { return searchPath + "/" + id(i) }},
		{name: "GET " + openReferralPath + "/{id}", path: func(i int) string { return openReferralPath + "/" + openreferral.ServiceID(id(i)) }},
	})
	if err != nil {
		return err
	}
	rows[2].base, rows[3].base = 2, 2
	fmt.Fprintf(w, "\n== Open Referral UK feed at %d organisations, beside the directory routes it mirrors ==\n", n)
	fmt.Fprintln(w, "bar: warm GET /openreferral/services?per_page=50 ≤ 2× GET /directory/organisations?per_page=50; each feed row is compared to the directory row above it")
	return printLatencies(w, rows)
}
