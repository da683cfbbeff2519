package openreferral

import (
	"encoding/json"
	"strconv"
)

// Page is one page of a list in the profile's envelope. Its contents are kept encoded: the
// services list encodes its items itself (see appendServiceSummary), the hot path of the feed.
type Page struct {
	TotalItems int  // every item the request matches
	TotalPages int  // pages of PerPage items (0 when nothing matches)
	PageNumber int  // 1-based, as requested (possibly past the last page)
	Size       int  // items in this page
	FirstPage  bool // PageNumber is 1
	LastPage   bool // no page follows this one
	Empty      bool // this page has no items

	contents [][]byte // each item's JSON
}

// newPage returns the envelope of page p of total items, before its contents are added.
func newPage(total int, p PageQuery) *Page {
	pages := (total + p.PerPage - 1) / p.PerPage
	return &Page{
		TotalItems: total,
		TotalPages: pages,
		PageNumber: p.Page,
		FirstPage:  p.Page == 1,
		LastPage:   p.Page >= pages,
		Empty:      true,
	}
}

// add appends one encoded item.
func (pg *Page) add(item []byte) {
	pg.contents = append(pg.contents, item)
	pg.Size = len(pg.contents)
	pg.Empty = false
}

// pageOf returns page p of items, encoding the page's items with encoding/json.
func pageOf[T any](items []T, p PageQuery) *Page {
	pg := newPage(len(items), p)
	first := (p.Page - 1) * p.PerPage
	for i := first; i < len(items) && i < first+p.PerPage; i++ {
		b, err := json.Marshal(items[i])
		if err != nil {
			// The items are plain structs of strings: they always encode.
			panic("openreferral: encode item: " + err.Error())
		}
		pg.add(b)
	}
	return pg
}

// AppendJSON appends the page's JSON encoding to b (httpapi uses it in place of encoding/json).
func (pg *Page) AppendJSON(b []byte) []byte {
	b = append(b, `{"total_items":`...)
	b = strconv.AppendInt(b, int64(pg.TotalItems), 10)
	b = append(b, `,"total_pages":`...)
	b = strconv.AppendInt(b, int64(pg.TotalPages), 10)
	b = append(b, `,"page_number":`...)
	b = strconv.AppendInt(b, int64(pg.PageNumber), 10)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(pg.Size), 10)
	b = append(b, `,"first_page":`...)
	b = strconv.AppendBool(b, pg.FirstPage)
	b = append(b, `,"last_page":`...)
	b = strconv.AppendBool(b, pg.LastPage)
	b = append(b, `,"empty":`...)
	b = strconv.AppendBool(b, pg.Empty)
	b = append(b, `,"contents":[`...)
	for i, c := range pg.contents {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, c...)
	}
	return append(b, "]}"...)
}

// MarshalJSON encodes the page as AppendJSON does.
func (pg *Page) MarshalJSON() ([]byte, error) { return pg.AppendJSON(nil), nil }
