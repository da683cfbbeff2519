// Package casestudyingest is the case studies' kind of upload: one Markdown file per case
// study, case-studies/<slug>.md in the uploads bucket (see package casestudy/markdown for the
// format). A valid file is rendered to sanitised HTML and published under its slug, replacing
// the slug's earlier version, in one transaction with its import record; an invalid one
// publishes nothing and leaves the published version as it was. Deleting the object
// unpublishes the case study. Of two uploads or removals of one slug, the later S3 event time
// wins, whatever order they arrive in. The upload lifecycle around it (claims, reports,
// retries) is package ingest's.
package casestudyingest

import (
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"sectorhub/shared/casestudy"
	"sectorhub/shared/casestudy/markdown"
	"sectorhub/shared/directory"
	"sectorhub/shared/imports"
	"sectorhub/shared/ingest"
)

// Prefix is where case study uploads go in the uploads bucket.
const Prefix = "case-studies/"

// Store checks organisations against the published directory and publishes case studies.
type Store interface {
	CurrentDirectory(ctx context.Context) (directory.Published, bool, error)
	OrganisationByID(ctx context.Context, version, id string) (directory.Organisation, bool, error)
	// PublishCaseStudy stores d as uploaded at, recording rep with it, unless something later
	// is stored for its slug (false); imports.ErrLeaseLost if rep's import is no longer its
	// request's.
	PublishCaseStudy(ctx context.Context, d casestudy.Document, at time.Time, rep imports.Report) (bool, error)
	// RemoveCaseStudy unpublishes slug as removed at, likewise.
	RemoveCaseStudy(ctx context.Context, slug string, at time.Time, rep imports.Report) (bool, error)
}

// Kind is the case studies' ingest.Kind and ingest.Remover.
type Kind struct {
	Store Store
}

var (
	_ ingest.Kind[casestudy.Document] = Kind{}
	_ ingest.Remover                  = Kind{}
)

// Name implements ingest.Kind.
func (Kind) Name() string { return "case-study" }

// Prefix implements ingest.Kind.
func (Kind) Prefix() string { return Prefix }

// MaxBytes implements ingest.Kind: the body's 200 KB and the front matter.
func (Kind) MaxBytes() int64 { return markdown.MaxFileBytes }

// Check implements ingest.Kind: the key must be case-studies/<slug>.md, the slug 3 to 80
// lower-case letters, digits and hyphens, directly under case-studies/.
func (Kind) Check(u ingest.Upload) []imports.Problem {
	if _, msg := slugOf(u.Key); msg != "" {
		return []imports.Problem{{Message: msg}}
	}
	return nil
}

// slugOf returns the slug a key publishes, or what is wrong with the key.
func slugOf(key string) (slug, problem string) {
	name := strings.TrimPrefix(key, Prefix)
	ext := path.Ext(name)
	slug = strings.TrimSuffix(name, ext)
	switch {
	case strings.Contains(name, "/"):
		return "", fmt.Sprintf("case studies go directly under %s, not in a folder: upload %q as %s%s", Prefix, name, Prefix, path.Base(name))
	case ext != ".md" && strings.EqualFold(ext, ".md"):
		return "", fmt.Sprintf("the file name must end in .md in lower case: upload it as %s%s.md", Prefix, strings.ToLower(slug))
	case ext != ".md":
		return "", fmt.Sprintf("a case study is a Markdown file whose name ends in .md, such as %speer-mentors-on-the-wing.md; %q is not", Prefix, name)
	case !casestudy.ValidSlug(slug):
		msg := fmt.Sprintf("the file name %q cannot be a case study's address: use 3 to 80 lower-case letters (a–z), digits and hyphens, such as peer-mentors-on-the-wing.md", name)
		if s := suggest(slug); casestudy.ValidSlug(s) && s != slug {
			msg += fmt.Sprintf(" (%s.md)", s)
		}
		return "", msg
	}
	return slug, ""
}

// suggest turns a file name into a slug: lower case, other characters as single hyphens.
func suggest(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	return b.String()
}

// Parse implements ingest.Kind: the file must be a valid case study, and its organisation, if
// it names one, an organisation of the published directory (whose name it takes).
func (k Kind) Parse(ctx context.Context, u ingest.Upload, body io.Reader) (ingest.Parsed[casestudy.Document], error) {
	slug, _ := slugOf(u.Key)
	data, err := io.ReadAll(body)
	if err != nil {
		return ingest.Parsed[casestudy.Document]{}, err
	}
	r := markdown.Parse(slug, data)
	if org := r.Document.Organisation; org != nil {
		name, problem, err := k.organisation(ctx, org.ID)
		if err != nil {
			return ingest.Parsed[casestudy.Document]{}, err
		}
		if problem != "" {
			r.Problems = append(r.Problems, imports.Problem{Line: r.OrganisationLine, Field: "organisation", Message: problem})
			slices.SortStableFunc(r.Problems, func(a, b imports.Problem) int { return a.Line - b.Line })
		}
		org.Name = name
	}
	return ingest.Parsed[casestudy.Document]{Content: r.Document, Items: 1, Problems: r.Problems}, nil
}

// organisation returns the name of directory organisation id, or the problem with it.
func (k Kind) organisation(ctx context.Context, id string) (name, problem string, err error) {
	p, ok, err := k.Store.CurrentDirectory(ctx)
	if err != nil || !ok {
		return "", "organisation " + quote(id) + " cannot be found: no directory is published yet", err
	}
	o, ok, err := k.Store.OrganisationByID(ctx, p.Version, id)
	if err != nil || !ok {
		return "", "organisation " + quote(id) + " is not in the published directory (an organisation is named by its id, the directory's id column)", err
	}
	return o.Name, "", nil
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// Publish implements ingest.Kind: the switch records the import in the same transaction.
func (k Kind) Publish(ctx context.Context, u ingest.Upload, d casestudy.Document, rep imports.Report) (imports.Report, bool, error) {
	ok, err := k.Store.PublishCaseStudy(ctx, d, u.At, rep)
	return outcome(rep, ok, err)
}

// outcome is the record as a publish or removal that switched (ok) or found something later
// stored ends: recorded by the switch's transaction, or superseded and left to the lifecycle.
func outcome(rep imports.Report, ok bool, err error) (imports.Report, bool, error) {
	if err != nil {
		return rep, false, err
	}
	if !ok {
		rep.Status = imports.Superseded
		return rep, false, nil
	}
	return rep, true, nil
}

// Remove implements ingest.Remover: the case study the key published is unpublished, unless
// a later upload of it is stored. A key that could not publish anything removes nothing.
func (k Kind) Remove(ctx context.Context, u ingest.Upload, rep imports.Report) (imports.Report, bool, error) {
	slug, msg := slugOf(u.Key)
	if msg != "" {
		return rep, false, nil
	}
	ok, err := k.Store.RemoveCaseStudy(ctx, slug, u.At, rep)
	return outcome(rep, ok, err)
}
