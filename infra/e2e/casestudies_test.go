package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/localstack"
	"sectorhub/infra/seed"
	"sectorhub/infra/testenv"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/imports"
)

func listCaseStudies(t *testing.T, st *localstack.Stack, query string) casestudy.Result {
	t.Helper()
	status, _, body := get(t, st.URL()+"/case-studies?"+query, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /case-studies?%s = %d %s; want 200", query, status, body)
	}
	var res casestudy.Result
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("GET /case-studies?%s: %v in %s", query, err, body)
	}
	return res
}

func getCaseStudy(t *testing.T, st *localstack.Stack, slug string) (int, casestudy.CaseStudy) {
	t.Helper()
	status, _, body := get(t, st.URL()+"/case-studies/"+slug, nil)
	var cs casestudy.CaseStudy
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &cs); err != nil {
			t.Fatalf("GET /case-studies/%s: %v in %s", slug, err, body)
		}
	}
	return status, cs
}

func readReport(t *testing.T, st *localstack.Stack, key string) imports.Report {
	t.Helper()
	client := testenv.S3Client(t, st.S3URL())
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(st.Bucket("UploadsBucket")), Key: aws.String(imports.ReportKey(key))})
	if err != nil {
		t.Fatalf("the report of %s: %v", key, err)
	}
	defer out.Body.Close()
	var rep imports.Report
	if err := json.NewDecoder(out.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func deleteObject(t *testing.T, st *localstack.Stack, key string) {
	t.Helper()
	client := testenv.S3Client(t, st.S3URL())
	ctx := context.Background()
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(st.Bucket("UploadsBucket")), Key: &key}); err != nil {
		t.Fatalf("DeleteObject(%s): %v", key, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := st.Drain(ctx); err != nil {
		t.Fatalf("waiting for the removal's ingest: %v", err)
	}
}

func TestCaseStudiesEndToEnd(t *testing.T) {
	uploads, err := seed.Uploads()
	if err != nil {
		t.Fatal(err)
	}
	var seeded []string
	for _, u := range uploads {
		if strings.HasPrefix(u.Key, "case-studies/") {
			seeded = append(seeded, strings.TrimSuffix(strings.TrimPrefix(u.Key, "case-studies/"), ".md"))
		}
	}
	for name, endpoint := range targets(t) {
		t.Run(name, func(t *testing.T) {
			st := startStack(t, endpoint)

			t.Run("seeded case studies are listed and read", func(t *testing.T) {
				all := listCaseStudies(t, st, "per_page=100")
				if all.Total != len(seeded) {
					t.Fatalf("GET /case-studies total %d; want the %d seeded", all.Total, len(seeded))
				}
				for i := 1; i < len(all.Items); i++ {
					if all.Items[i-1].Published < all.Items[i].Published {
						t.Errorf("%s (%s) listed before %s (%s); want newest first", all.Items[i-1].Slug, all.Items[i-1].Published, all.Items[i].Slug, all.Items[i].Published)
					}
				}
				peer := listCaseStudies(t, st, "theme=peer-support&region=wales")
				if peer.Total == 0 || peer.Total >= all.Total {
					t.Fatalf("theme=peer-support&region=wales: total %d of %d; want some but not all", peer.Total, all.Total)
				}
				for _, it := range peer.Items {
					if !slices.Contains(it.Themes, "peer-support") || !slices.Contains(it.Regions, "wales") {
						t.Errorf("theme=peer-support&region=wales returned %s with %v %v", it.Slug, it.Themes, it.Regions)
					}
				}
				if res := listCaseStudies(t, st, "q=tenancys"); res.Total != 1 || res.Items[0].Slug != "peer-research-on-housing" {
					t.Errorf("q=tenancys (a typo, in the body) = %+v; want the housing study", res.Items)
				}

				u := st.URL() + "/case-studies/peer-research-on-housing"
				status, h, body := get(t, u, nil)
				var cs casestudy.CaseStudy
				if status != 200 || json.Unmarshal(body, &cs) != nil || !strings.Contains(cs.HTML, `<table>`) || h.Get("ETag") == "" || h.Get("Cache-Control") == "" {
					t.Fatalf("GET %s = %d %v %.200s; want the case study with its table", u, status, h, body)
				}
				if status, _, _ := get(t, u, http.Header{"If-None-Match": {h.Get("ETag")}}); status != 304 {
					t.Errorf("GET with If-None-Match = %d; want 304", status)
				}
				if status, _, body := get(t, st.URL()+"/case-studies?topic=x", nil); status != 400 || !strings.Contains(string(body), `"invalid_parameter"`) {
					t.Errorf("unknown parameter = %d %s; want 400", status, body)
				}
			})

			const key = "case-studies/zephyrine-mentors.md"
			good := "---\ntitle: Zephyrine mentors\nsummary: Mentoring by people who have been there.\npublished: 2027-01-05\n" +
				"themes: [Peer support]\nregions: [north-west]\norganisation: irwell-womens-centre\n---\n## Zephyrine\n\nMentors <script>alert(1)</script> meet women at the gate.\n"

			t.Run("upload publishes, then list and get show it", func(t *testing.T) {
				upload(t, st, key, []byte(good))
				res := listCaseStudies(t, st, "q=zephyrine")
				if res.Total != 1 || res.Items[0].Slug != "zephyrine-mentors" || res.Items[0].Organisation == nil || res.Items[0].Organisation.Name != "Irwell Women's Centre" {
					t.Fatalf("q=zephyrine after upload = %+v; want the new case study with its organisation", res.Items)
				}
				if first := listCaseStudies(t, st, "").Items[0]; first.Slug != "zephyrine-mentors" {
					t.Errorf("first listed = %s; want the newest, zephyrine-mentors", first.Slug)
				}
				status, cs := getCaseStudy(t, st, "zephyrine-mentors")
				if status != 200 || !strings.Contains(cs.HTML, `<h2 id="zephyrine">`) || strings.Contains(cs.HTML, "<script") {
					t.Fatalf("GET = %d %+v; want sanitised HTML", status, cs)
				}
				if slugs := organisationCaseStudies(t, st, "irwell-womens-centre"); len(slugs) == 0 || slugs[0] != "zephyrine-mentors" {
					t.Errorf("the organisation's case_studies = %v; want zephyrine-mentors first (the newest)", slugs)
				}
			})

			t.Run("invalid upload is reported and leaves the published version", func(t *testing.T) {
				bad := "---\ntitle: Zephyrine mentors, take two\nsummary: s\npublished: 2027-01-06\nthemes: [knitting]\norganisation: no-such-org\n---\nText\n"
				upload(t, st, key, []byte(bad))
				rep := readReport(t, st, key)
				if rep.Status != imports.Rejected || rep.Kind != "case-study" || rep.ProblemCount != 2 {
					t.Fatalf("report = %+v; want rejected with 2 problems", rep)
				}
				for _, p := range rep.Problems {
					if want := map[string]int{"themes": 5, "organisation": 6}[p.Field]; p.Line != want {
						t.Errorf("problem %+v; want themes on line 5, organisation on line 6", p)
					}
				}
				if status, cs := getCaseStudy(t, st, "zephyrine-mentors"); status != 200 || cs.Title != "Zephyrine mentors" {
					t.Errorf("after an invalid upload: %d %q; want the published version", status, cs.Title)
				}
			})

			t.Run("delete unpublishes", func(t *testing.T) {
				deleteObject(t, st, key)
				if status, _ := getCaseStudy(t, st, "zephyrine-mentors"); status != 404 {
					t.Errorf("GET after delete = %d; want 404", status)
				}
				if slugs := organisationCaseStudies(t, st, "irwell-womens-centre"); slices.Contains(slugs, "zephyrine-mentors") {
					t.Errorf("the organisation's case_studies after delete = %v; want it gone", slugs)
				}
				if res := listCaseStudies(t, st, "q=zephyrine"); res.Total != 0 {
					t.Errorf("q=zephyrine after delete: total %d; want 0", res.Total)
				}
				if rep := readReport(t, st, key); rep.Status != imports.Removed {
					t.Errorf("report after delete = %s; want removed", rep.Status)
				}
				if all := listCaseStudies(t, st, ""); all.Total != len(seeded) {
					t.Errorf("total after delete = %d; want the %d seeded", all.Total, len(seeded))
				}
			})
		})
	}
}

// organisationCaseStudies returns the slugs GET /directory/organisations/{id} lists as the
// organisation's case studies.
func organisationCaseStudies(t *testing.T, st *localstack.Stack, id string) []string {
	t.Helper()
	status, _, body := get(t, st.URL()+"/directory/organisations/"+id, nil)
	var page struct {
		CaseStudies []struct {
			Slug string `json:"slug"`
		} `json:"case_studies"`
	}
	if status != 200 || json.Unmarshal(body, &page) != nil || page.CaseStudies == nil {
		t.Fatalf("GET /directory/organisations/%s = %d %s; want 200 with case_studies", id, status, body)
	}
	var slugs []string
	for _, cs := range page.CaseStudies {
		slugs = append(slugs, cs.Slug)
	}
	return slugs
}
