package s3local

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"
	"testing"
)

func crc32Base64(s string) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE([]byte(s))))
}

func TestDecodeAWSChunked(t *testing.T) {
	sig := ";chunk-signature=" + strings.Repeat("0", 64)
	tests := []struct {
		name         string
		body         string
		want         string
		wantTrailers map[string]string
		wantErr      bool
	}{
		{name: "signed", body: "3" + sig + "\r\nabc\r\n0" + sig + "\r\n\r\n", want: "abc"},
		{name: "unsigned with trailers", body: "3\r\nabc\r\n2\r\nde\r\n0\r\nx-amz-checksum-crc32:xyz==\r\nx-amz-trailer-signature:00\r\n\r\n", want: "abcde",
			wantTrailers: map[string]string{"X-Amz-Checksum-Crc32": "xyz==", "X-Amz-Trailer-Signature": "00"}},
		{name: "trailer without final empty line", body: "1\r\na\r\n0\r\nx-amz-checksum-sha1:q\r\n", want: "a", wantTrailers: map[string]string{"X-Amz-Checksum-Sha1": "q"}},
		{name: "empty object", body: "0\r\n\r\n", want: ""},
		{name: "upper-case hex", body: "A\r\n0123456789\r\n0\r\n\r\n", want: "0123456789"},
		{name: "bad size", body: "zz\r\nabc\r\n0\r\n\r\n", wantErr: true},
		{name: "negative size", body: "-1\r\nabc\r\n0\r\n\r\n", wantErr: true},
		{name: "short chunk", body: "5\r\nabc", wantErr: true},
		{name: "no line break after chunk", body: "3\r\nabcd\r\n0\r\n\r\n", wantErr: true},
		{name: "no terminating chunk", body: "3\r\nabc\r\n", wantErr: true},
		{name: "trailer without colon", body: "0\r\nnonsense\r\n\r\n", wantErr: true},
		{name: "overlong line", body: strings.Repeat("1", maxChunkLine+1) + "\r\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, trailers, err := decodeAWSChunked(strings.NewReader(tt.body))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decodeAWSChunked(%q) = %q; want an error", tt.body, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeAWSChunked(%q) error = %v", tt.body, err)
			}
			if string(got) != tt.want {
				t.Errorf("decodeAWSChunked(%q) = %q; want %q", tt.body, got, tt.want)
			}
			for k, v := range tt.wantTrailers {
				if trailers[k] != v {
					t.Errorf("trailer %s = %q; want %q (all: %v)", k, trailers[k], v, trailers)
				}
			}
		})
	}
}

func TestVerifyChecksum(t *testing.T) {
	body := []byte("123456789")
	crc64nvme := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, 0xAE8B14860A799888)) // the check value of CRC-64/NVME
	tests := []struct {
		header, value string
		ok            bool
	}{
		{"X-Amz-Checksum-Crc32", crc32Base64("123456789"), true},
		{"X-Amz-Checksum-Crc32c", base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, 0xE3069283)), true},
		{"X-Amz-Checksum-Crc64nvme", crc64nvme, true},
		{"X-Amz-Checksum-Sha1", "98O8HYCOBHMq32eZZczDTKeuNEE=", true},
		{"X-Amz-Checksum-Sha256", "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=", true},
		{"X-Amz-Checksum-Crc32", "AAAAAA==", false},
	}
	for _, tt := range tests {
		err := verifyChecksum(tt.header, tt.value, body)
		if (err == nil) != tt.ok {
			t.Errorf("verifyChecksum(%s, %q) error = %v; want ok=%v", tt.header, tt.value, err, tt.ok)
		}
	}
	if got := crc64.Checksum(body, crc64NVME); got != 0xAE8B14860A799888 {
		t.Errorf("CRC-64/NVME check value = %X", got)
	}
}

func TestStripTransferHeaders(t *testing.T) {
	h := http.Header{
		"X-Amz-Checksum-Crc32":         {"x"},
		"X-Amz-Sdk-Checksum-Algorithm": {"CRC32"},
		"X-Amz-Content-Sha256":         {"UNSIGNED-PAYLOAD"},
		"Content-Encoding":             {"aws-chunked,gzip"},
		"X-Amz-Meta-Owner":             {"kept"},
		"X-Amz-Copy-Source":            {"kept"},
		"Content-Type":                 {"text/csv"},
	}
	stripTransferHeaders(h)
	want := http.Header{
		"Content-Encoding":  {"gzip"},
		"X-Amz-Meta-Owner":  {"kept"},
		"X-Amz-Copy-Source": {"kept"},
		"Content-Type":      {"text/csv"},
	}
	if len(h) != len(want) {
		t.Errorf("after stripTransferHeaders: %v; want %v", h, want)
	}
	for k, v := range want {
		if h.Get(k) != v[0] {
			t.Errorf("%s = %q; want %q", k, h.Get(k), v[0])
		}
	}
}

func FuzzDecodeAWSChunked(f *testing.F) {
	for _, seed := range []string{
		"3\r\nabc\r\n0\r\n\r\n",
		"3;chunk-signature=00\r\nabc\r\n0;chunk-signature=00\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
		"0\r\n",
		"ffffffffffffffff\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, trailers, err := decodeAWSChunked(bytes.NewReader(body))
		if err != nil {
			return
		}
		if len(got) > len(body) {
			t.Fatalf("decoded %d bytes from %d", len(got), len(body))
		}
		if len(trailers) > maxTrailers {
			t.Fatalf("%d trailers; want at most %d", len(trailers), maxTrailers)
		}
	})
}
