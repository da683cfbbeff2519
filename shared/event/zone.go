package event

// Time zones. An event's timezone is an IANA name, loaded with time.LoadLocation. The
// functions run on provided.al2023, whose image may have no /usr/share/zoneinfo, so the
// package embeds Go's copy of the time zone database (time/tzdata). Measured with Go 1.26 on
// a program that only loads a zone, built as the functions are (linux/arm64, -trimpath,
// -ldflags "-s -w"): 393,216 bytes more (1,638,562 → 2,031,778); its init takes 2–3 µs (the
// data is a string constant), and the first load of a zone from it about 100 µs, as from
// /usr/share/zoneinfo (LoadZone caches it). LoadLocation still prefers the system's files
// when they exist.

import (
	"errors"
	"sync"
	"time"
	_ "time/tzdata" // zones on machines without a zoneinfo directory (provided.al2023)
)

// DefaultTimezone is the timezone of an event when staff give none.
const DefaultTimezone = "Europe/London"

// zones caches loaded locations by name: LoadLocation reads (or unzips) the zone each time.
// Only names that loaded are kept, so the cache holds at most the ~600 IANA zones.
var zones sync.Map // string → *time.Location

// LoadZone returns the location of an IANA time zone name. "" and "Local" are refused: an
// event's zone never depends on the machine.
func LoadZone(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	if name == "" || name == "Local" {
		return nil, errors.New("not an IANA time zone name")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}
