package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/shared/casestudy"
)

const (
	caseStudiesPath = "/case-studies"
	// caseStudyCount is how many case studies the benchmark publishes: hundreds, as the list's
	// in-memory index is made for.
	caseStudyCount = 500
)

// caseStudyQueries are the lists the website's theme pages ask for: one theme, two, a theme
// in a region, a second page.
var caseStudyQueries = []string{
	"theme=peer-support",
	"theme=co-production,peer-research",
	"theme=mentoring&region=north-west",
	"theme=lived-experience-leadership&page=2",
}

// caseStudies publishes caseStudyCount synthetic case studies through the upload path (some
// name organisations of the live directory), then measures, in turns, warm lists by theme
// against GET /case-studies/{slug}, and the first list of a warm instance after a publish,
// which builds the list's index again.
func (b *bench) caseStudies(ctx context.Context, w io.Writer, requests int) error {
	fn := routeFunction(b.st.Template(), caseStudiesPath).LogicalID
	ingest, bucket := b.s3Event("case-studies/")
	if fn == "" || ingest == "" {
		return fmt.Errorf("the template has no function for GET %s or for uploads under case-studies/", caseStudiesPath)
	}
	ids, err := b.someIDs()
	if err != nil {
		return err
	}
	files := syntheticCaseStudies(caseStudyCount, ids)
	finish := b.reports.record()
	start := time.Now()
	if err := b.putCaseStudies(ctx, bucket, files); err != nil {
		return err
	}
	took := time.Since(start)
	var ingests []time.Duration
	var peakMB, memMB int
	for _, r := range finish() {
		if r.FunctionName == ingest {
			ingests = append(ingests, r.Duration)
			peakMB, memMB = max(peakMB, r.MaxMemoryMB), r.MemorySizeMB
		}
	}
	var list casestudy.Result
	if err := b.getJSON(caseStudiesPath+"?per_page=1", &list); err != nil {
		return err
	}
	if list.Total != len(files) {
		return fmt.Errorf("%d case studies published of %d uploaded (see reports/case-studies/ in -log)", list.Total, len(files))
	}

	// The first list of a warm instance after a publish: one case study uploaded again.
	first := caseStudiesPath + "?" + caseStudyQueries[0]
	var afterPublish, afterPublishFn []time.Duration
	for i := range afterPublishRuns {
		if _, err := b.fetch(first); err != nil { // the instance is warm and its index current
			return err
		}
		f := files[i]
		f.body = fmt.Appendf(bytes.Clone(f.body), "\nRevised (%d).\n", i+1)
		if err := b.putCaseStudies(ctx, bucket, []caseStudyFile{f}); err != nil {
			return err
		}
		d, err := b.fetch(first)
		if err != nil {
			return err
		}
		afterPublish = append(afterPublish, d)
		afterPublishFn = append(afterPublishFn, b.reports.get(fn).Duration)
	}

	reqs := []request{{name: "GET " + caseStudiesPath + "/{slug}", path: func(i int) string { return caseStudiesPath + "/" + files[i%len(files)].slug }}}
	for _, q := range caseStudyQueries {
		reqs = append(reqs, fixed("list ?"+q, caseStudiesPath+"?"+q))
	}
	rows, err := b.inTurns(requests, fn, reqs)
	if err != nil {
		return err
	}
	rows = append(rows, pooled("all lists", rows[1:], 0))

	size, words, linked := 0, 0, 0
	for _, f := range files {
		size += len(f.body)
		words += len(strings.Fields(string(f.body)))
		if bytes.Contains(f.body, []byte("\norganisation: ")) {
			linked++
		}
	}
	fmt.Fprintf(w, "\n== Case studies at %d, through the local stack ==\n", len(files))
	fmt.Fprintln(w, "goal: warm list by theme ≤ 1.5× GET /case-studies/{slug} (bar 2×)")
	if err := printLatencies(w, rows); err != nil {
		return err
	}
	fmt.Fprintf(w, "first list of a warm instance after a publish (builds the index of %d), %d runs: round trip p50 %s, max %s; %s p50 %s, max %s\n",
		len(files), len(afterPublish), msStr(median(afterPublish)), msStr(maxDur(afterPublish)), fn, msStr(median(afterPublishFn)), msStr(maxDur(afterPublishFn)))
	fmt.Fprintf(w, "publish of %d files (%.1f MB, %d words each on average; %d name an organisation): upload → all published %.1f s; %s p50 %s per file, peak memory %d MB of %d MB\n",
		len(files), float64(size)/1e6, words/len(files), linked, took.Seconds(), ingest, msStr(median(ingests)), peakMB, memMB)
	return nil
}

// putCaseStudies uploads files to case-studies/<slug>.md in bucket and waits until every
// upload's ingest has finished.
func (b *bench) putCaseStudies(ctx context.Context, bucket string, files []caseStudyFile) error {
	failed := b.st.AsyncFailures()
	for _, f := range files {
		key := "case-studies/" + f.slug + ".md"
		if _, err := b.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(f.body)}); err != nil {
			return fmt.Errorf("upload %s: %w", key, err)
		}
	}
	if err := b.st.Drain(ctx); err != nil {
		return err
	}
	if n := b.st.AsyncFailures() - failed; n > 0 {
		return fmt.Errorf("%d case-study ingests failed", n)
	}
	return nil
}

// caseStudyFile is one case study in the upload format.
type caseStudyFile struct {
	slug string
	body []byte
}

// linkEvery is how often a synthetic case study names an organisation: one in linkEvery.
const linkEvery = 5

var (
	csApproaches = []string{
		"Peer mentors", "A service user council", "Lived experience trustees", "Co-produced training",
		"Peer researchers", "A families forum", "Recovery champions", "An advisory panel",
		"Volunteer advocates", "A women's steering group", "Young people as co-designers", "Gate mentors",
	}
	csSettings = []string{
		"on the wing", "in the community", "at the gate", "in approved premises", "at court",
		"in probation offices", "in a women's centre", "in a youth offending team", "across a region",
	}
	csHeadings  = []string{"The idea", "How it works", "What changed", "What we learned", "Next steps", "Funding"}
	csSentences = []string{
		"People with lived experience of the criminal justice system led the work from the start.",
		"The group met every fortnight and agreed its own terms of reference.",
		"Members were paid for their time at the same rate as other consultants.",
		"Staff were trained to share decisions rather than simply ask for feedback.",
		"The probation service agreed to act on the recommendations within six months.",
		"Peer mentors completed a ten-week course on safeguarding, boundaries and listening.",
		"Families told us that visits were the hardest part of the sentence for their children.",
		"We kept the meetings informal, with food, travel costs and childcare provided.",
		"The first year was slower than planned, because trust takes time to build.",
		"Two former service users now sit on the board of trustees.",
		"Researchers with convictions interviewed more than sixty people about housing after release.",
		"The findings changed how the council allocates emergency accommodation.",
		"Several mentees have since trained as mentors themselves.",
		"Commissioners joined one session a quarter to hear directly from the group.",
		"We learned to budget for support after difficult conversations.",
		"Attendance at first appointments rose, and fewer people were recalled to prison.",
		"The council produced a guide to resettlement written in plain language.",
		"Young adults on probation redesigned the waiting room and the letters they receive.",
		"Women in the group set the agenda and chose which issues to raise with managers.",
		"Prison staff were sceptical at first but became the project's strongest supporters.",
		"Every recommendation was tracked in public, with a named person responsible for it.",
		"The project is funded by a charitable trust and the regional probation service.",
		"Evaluation combined interviews, attendance figures and the group's own reflections.",
		"Members said the biggest difference was not feeling judged.",
	}
	csAuthors = []string{"Sam Okafor", "Jo Example", "Priya Shah", "Dan Hughes", "Aisha Bello", "Morgan Reid", "Chris Doyle", ""}
)

// syntheticCaseStudies returns n valid case studies, the same for the same arguments: one to
// three themes and up to two regions each from the whole vocabulary, a text of a few hundred
// words in three to five sections with a list, and one in linkEvery names one of orgs (none when orgs is empty).
func syntheticCaseStudies(n int, orgs []string) []caseStudyFile {
	rng := rand.New(rand.NewPCG(2026, uint64(n)))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	var themes, regions []string
	for _, t := range casestudy.Themes {
		themes = append(themes, t.Slug)
	}
	for _, t := range casestudy.Regions.Terms {
		regions = append(regions, t.Slug)
	}
	files := make([]caseStudyFile, n)
	for i := range files {
		title := pick(csApproaches) + " " + pick(csSettings)
		var body bytes.Buffer
		fmt.Fprintf(&body, "---\ntitle: %s\nsummary: How %s changed a service, and what it took.\n", title, strings.ToLower(title))
		fmt.Fprintf(&body, "published: %s\n", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(6*365)).Format(time.DateOnly))
		fmt.Fprintf(&body, "themes: [%s]\n", strings.Join(some(rng, themes, 1, 3), ", "))
		if r := some(rng, regions, 0, 2); len(r) > 0 {
			fmt.Fprintf(&body, "regions: [%s]\n", strings.Join(r, ", "))
		}
		if len(orgs) > 0 && i%linkEvery == 0 {
			fmt.Fprintf(&body, "organisation: %s\n", orgs[(i/linkEvery)%len(orgs)])
		}
		if a := pick(csAuthors); a != "" {
			fmt.Fprintf(&body, "author: %s\n", a)
		}
		body.WriteString("---\n")
		for s, h := range csHeadings[:3+rng.IntN(3)] {
			fmt.Fprintf(&body, "\n## %s\n\n", h)
			for range 4 + rng.IntN(4) {
				body.WriteString(pick(csSentences) + " ")
			}
			body.WriteString("\n")
			if s == 1 {
				for range 3 {
					fmt.Fprintf(&body, "\n- %s", pick(csSentences))
				}
				body.WriteString("\n")
			}
		}
		files[i] = caseStudyFile{slug: fmt.Sprintf("bench-case-study-%d", i+1), body: body.Bytes()}
	}
	return files
}

// some returns lo to hi distinct elements of s, in random order.
func some(rng *rand.Rand, s []string, lo, hi int) []string {
	var out []string
	for _, j := range rng.Perm(len(s))[:lo+rng.IntN(hi-lo+1)] {
		out = append(out, s[j])
	}
	return out
}
