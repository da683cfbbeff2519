// Package seed holds the fictional sample content of the local stack and the generator of
// synthetic directories that benchmarks search at scale.
package seed

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/csv"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"sectorhub/shared/directory"
)

// DirectoryCSV is a directory of about 60 fictional organisations in the upload format, with
// example.org addresses and phone numbers from Ofcom's ranges reserved for drama. The local
// stack publishes it through the upload path so that a newcomer sees a working directory.
//
//go:embed uploads/10-directory/sample-directory.csv
var DirectoryCSV []byte

// uploads holds the sample content of every kind, each kind in a folder named after its
// prefix with a number in front that orders the kinds (one kind's samples may refer to
// another's: a case study names an organisation of the directory): the file
// uploads/10-directory/sample-directory.csv is uploaded, first, to directory/sample-directory.csv.
// A new kind of content brings its samples in a folder of its own; nothing else changes.
//
//go:embed uploads
var uploads embed.FS

// Upload is one sample file and the key it is uploaded to.
type Upload struct {
	Key   string
	Body  []byte
	Path  string // the file in the repository, from its root: infra/seed/uploads/...
	order int    // the number of its folder
}

// Uploads returns every sample upload, kinds in the order of their folders' numbers, each
// kind's files in name order.
func Uploads() ([]Upload, error) {
	var out []Upload
	err := fs.WalkDir(uploads, "uploads", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := uploads.ReadFile(p)
		if err != nil {
			return err
		}
		folder, rest, _ := strings.Cut(strings.TrimPrefix(p, "uploads/"), "/")
		num, prefix, _ := strings.Cut(folder, "-")
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || prefix == "" || rest == "" {
			return fmt.Errorf("sample upload %s: put it in a folder named <number>-<prefix>, such as 10-directory", p)
		}
		out = append(out, Upload{Key: prefix + "/" + rest, Body: body, Path: "infra/seed/" + p, order: n})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read sample uploads: %w", err)
	}
	slices.SortStableFunc(out, func(a, b Upload) int { return cmp.Compare(a.order, b.order) })
	return out, nil
}

var (
	places = []string{
		"Ashworth", "Bramley", "Calder", "Dunmore", "Elmfield", "Fernhill", "Greystone", "Hartwell",
		"Ivybridge", "Juniper", "Kingsmere", "Larkspur", "Millbrook", "Northgate", "Oakvale",
		"Pennine", "Quayside", "Riverside", "Severn", "Thornbury", "Underhill", "Valley", "Westmoor",
		"Yarrow", "Amberley", "Beacon", "Cedar", "Dovecote", "Eastbrook", "Foxglove", "Glenside",
		"Heathfield", "Irwell", "Kestrel", "Lowther", "Marsden", "Nettleton", "Ouseburn",
	}
	nouns = []string{
		"Bridge", "Horizons", "Pathways", "Lantern", "Harbour", "Compass", "Anchor", "Threshold",
		"Open Door", "New Leaf", "Second Chance", "Fresh Start", "Stepping Stones", "Turning Point",
		"Keystone", "Haven", "Welcome", "Footprints", "Lighthouse", "Gateway", "Crossroads",
		"Roots", "Springboard", "Milestone", "Common Ground", "Hope", "Journey", "Beacon",
	}
	kinds = []string{
		"Trust", "Project", "Network", "Partnership", "Foundation", "Collective", "Centre",
		"Alliance", "CIC", "Association", "Service", "Charity",
	}
	whats = []string{
		"housing and tenancy support", "one-to-one mentoring", "family visits support",
		"a women's centre", "debt and benefits advice", "peer support groups",
		"restorative justice conferences", "employment coaching", "creative arts workshops",
		"recovery support for drug and alcohol use", "counselling and emotional support",
		"sport and fitness sessions", "education and training courses", "faith-based befriending",
		"advocacy at court", "mental health support", "help with resettlement after release",
		"support for children with a parent in prison", "specialist casework",
	}
	whos = []string{
		"people leaving prison", "women in contact with the criminal justice system",
		"young adults on probation", "families of people in prison", "veterans in custody",
		"older prisoners", "foreign national prisoners", "people serving community sentences",
		"people on remand", "care-experienced young people", "LGBT+ people in prison",
		"people with learning disabilities", "racially minoritised young men",
		"people convicted of sexual offences", "people in police custody",
	}
	sentences = []string{
		"We work alongside probation, prisons and local authorities across %s.",
		"Our staff and volunteers include people with lived experience of the justice system.",
		"Referrals come from prison resettlement teams, probation practitioners and self-referral.",
		"We offer %s before release and continue after people return to the community.",
		"Every participant gets a named caseworker who helps them set and reach their own goals.",
		"Our drop-in runs three days a week and no appointment is needed.",
		"We help people find and keep a tenancy, claim benefits and open a bank account.",
		"Sessions take place in prisons, approved premises and community venues.",
		"We were founded in 1998 by a group of former prisoners and their families.",
		"Our trained volunteers meet people at the gate on the day of release.",
		"We run accredited courses in literacy, numeracy and digital skills.",
		"Families can get practical help with visits, travel costs and talking to children about prison.",
		"We bring together people harmed by crime and those responsible, when both choose to take part.",
		"Our counsellors offer trauma-informed support in a safe, welcoming space.",
		"We work with employers who are committed to recruiting people with convictions.",
		"Workshops in music, theatre and visual art help people build confidence and skills.",
		"Our recovery coaches support people to reduce harm and stay abstinent.",
		"We have a specialist service for %s.",
		"Interpreters are available and materials are translated into several languages.",
		"We are a registered charity funded by grants, donations and commissioned contracts.",
		"Mentors meet people weekly for up to a year and help them rebuild their lives.",
		"We advise on debt, rent arrears, fines and court costs.",
		"Our faith communities offer friendship without pressure, whatever your beliefs.",
		"Young people take part in football, boxing and outdoor activities every week.",
		"We also train practitioners and share what we learn with commissioners.",
	}
	areaNames = []string{
		"Tyneside", "Greater Manchester", "West Yorkshire", "the East Midlands", "the Black Country",
		"East Anglia", "south London", "Kent and Sussex", "Devon and Cornwall", "south Wales",
	}
	outwardCodes = []string{
		"NE1", "NE6", "M4", "M15", "L1", "LS2", "LS9", "S1", "NG1", "LE1", "DE1", "B5", "B19",
		"CV1", "NR1", "CB1", "IP1", "E1", "N7", "SE15", "SW9", "BN1", "ME4", "CT1", "BS2", "PL1",
		"EX1", "CF10", "SA1", "LL11",
	}
)

// Synthetic returns a valid directory CSV of n fictional organisations, the same for the same
// n. Names, summaries and descriptions are assembled from word lists and sentences so that text
// search behaves as it would on real data; terms are random, given as slugs or labels.
func Synthetic(n int) []byte { return synthetic(n, 3, 7) }

// SyntheticCompact is Synthetic with one or two sentences of description instead of three to
// seven, so that the 20,000 organisations the upload format allows fit its 10 MB limit.
func SyntheticCompact(n int) []byte { return synthetic(n, 1, 2) }

// synthetic writes n organisations whose descriptions have lo to hi sentences.
func synthetic(n, lo, hi int) []byte {
	rng := rand.New(rand.NewPCG(2026, uint64(n)))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{
		"id", "name", "summary", "description", "areas_of_work", "client_groups", "regions",
		"settings", "lived_experience", "lived_experience_board", "website", "email", "phone", "postcode",
	})
	yes := []string{"yes", "Yes", "y", "TRUE", "1"}
	no := []string{"no", "No", "", "false", "0"}
	for i := range n {
		id := fmt.Sprintf("org-%05d", i+1)
		name := pick(places) + " " + pick(nouns) + " " + pick(kinds)
		summary := fmt.Sprintf("%s for %s.", capitalise(pick(whats)), pick(whos))
		if rng.IntN(2) == 0 {
			summary += fmt.Sprintf(" We also offer %s.", pick(whats))
		}
		var desc []string
		for range lo + rng.IntN(hi-lo+1) {
			s := pick(sentences)
			switch strings.Count(s, "%s") {
			case 1:
				switch {
				case strings.Contains(s, "across %s"):
					s = fmt.Sprintf(s, pick(areaNames))
				case strings.Contains(s, "service for %s"):
					s = fmt.Sprintf(s, pick(whos))
				default:
					s = fmt.Sprintf(s, pick(whats))
				}
			}
			desc = append(desc, s)
		}
		flag := func(p int) string {
			if rng.IntN(100) < p {
				return pick(yes)
			}
			return pick(no)
		}
		slug := strings.ToLower(strings.NewReplacer(" ", "-").Replace(name))
		_ = w.Write([]string{
			id, name, summary, strings.Join(desc, " "),
			terms(rng, directory.Areas, 1, 4),
			terms(rng, directory.ClientGroups, 0, 3),
			terms(rng, directory.Regions, 1, 2),
			terms(rng, directory.Settings, 1, 2),
			flag(40), flag(20),
			fmt.Sprintf("https://%s-%d.example.org", slug, i+1),
			fmt.Sprintf("info@%s-%d.example.org", slug, i+1),
			fmt.Sprintf("020 7946 0%03d", rng.IntN(1000)),
			fmt.Sprintf("%s %d%c%c", pick(outwardCodes), rng.IntN(10), 'A'+rune(rng.IntN(26)), 'A'+rune(rng.IntN(26))),
		})
	}
	w.Flush()
	return buf.Bytes()
}

// terms returns between lo and hi distinct random terms of l, each written as its slug or its
// label, separated by "; ".
func terms(rng *rand.Rand, l directory.List, lo, hi int) string {
	k := lo + rng.IntN(hi-lo+1)
	var out []string
	for _, i := range rng.Perm(len(l.Terms))[:k] {
		t := l.Terms[i]
		if rng.IntN(3) == 0 {
			out = append(out, t.Label)
		} else {
			out = append(out, t.Slug)
		}
	}
	return strings.Join(out, "; ")
}

func capitalise(s string) string {
	return strings.ToUpper(s[:1]) + s[1:]
}
