// Package directory is the directory of services: what an organisation is, the controlled
// vocabularies that classify organisations (Areas, ClientGroups, Regions, Settings), the CSV
// format staff publish the directory in (ParseCSV), and the in-memory search index the public
// API answers from (ParseQuery, NewIndex, Index.Search). It imports no infrastructure.
//
// # The upload format
//
// A directory is one CSV file, UTF-8 with or without a byte order mark (Excel's "CSV UTF-8"),
// with CRLF or LF line ends, at most MaxUploadBytes and MaxRows organisations. The first row
// is the header naming the columns, in any order and any case ("Areas of work" is read as
// areas_of_work). id, name, summary and regions must be present; the other columns may be left
// out. A column with an empty header is ignored while its cells are empty too.
//
//	id                      required; letters, digits, - and _, at most 64; unique in the file (ignoring case)
//	name                    required; at most 200 characters
//	summary                 required; at most 500 characters
//	description             at most 5000 characters; may span lines inside double quotes
//	areas_of_work           terms separated by ";", as slugs or labels, in any case
//	client_groups           likewise
//	regions                 likewise; at least one (National for England-and-Wales-wide services)
//	settings                likewise
//	lived_experience        yes/no, true/false, y/n, 1/0, or empty for no
//	lived_experience_board  likewise
//	website                 an http or https address; without a scheme ("www.example.org") https is assumed and added
//	email                   one plain address (info@example.org), no display name
//	phone                   digits, spaces, +, brackets and -, with 7 to 20 digits
//	postcode                a UK postcode, stored in capitals with one space ("sw1a1aa" becomes "SW1A 1AA")
//
// Values are trimmed; lists are stored as slugs in vocabulary order without repeats. Blank
// rows, including rows of empty cells as spreadsheets save them, are skipped. A file with any
// problem publishes nothing: ParseCSV reports every problem with its line (the line a record
// starts on, counting the header as line 1) and column, in words meant for the member of staff
// who made the file.
//
// # Search
//
// q matches organisations that contain every word of it in their name, summary, description
// or the labels of their terms. Case and accents are ignored; "women's" also matches "women";
// the last word also matches the start of a longer word (unless q ends with a space); a word of
// five or more letters also matches words one typo away (a letter added, missing, changed, or
// two neighbours swapped). Filters take any of several terms of one vocabulary and every
// vocabulary given. Results whose name contains every word come first, then the more relevant
// (exact words above prefixes above typos; name, summary, labels, description in that order of
// weight), then by name. Without q, results are in name order.
package directory
