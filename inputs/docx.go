package inputs

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Namespaces of a document: WordprocessingML as Word writes it
// (transitional), as Strict OOXML writes it, and markup compatibility (the
// alternatives a newer feature carries for older readers).
const (
	wordNS       = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	wordStrictNS = "http://purl.oclc.org/ooxml/wordprocessingml/main"
	mcNS         = "http://schemas.openxmlformats.org/markup-compatibility/2006"
)

func isWord(n xml.Name) bool { return n.Space == wordNS || n.Space == wordStrictNS }

// maxDocumentXML caps the decompressed size of word/document.xml, so a
// crafted archive cannot exhaust memory.
const maxDocumentXML = 64 << 20

// DocxText extracts the text of a .docx file from word/document.xml as Word
// shows it: one line per paragraph (w:p), tabs and line breaks kept. Left
// out are deleted and moved-away text (w:del, w:moveFrom: tracked changes),
// field instructions, hidden text (a run whose properties have w:vanish)
// and the fallback of an mc:AlternateContent (a text box carries its text
// twice, for Word and for older readers: only mc:Choice counts).
// Transitional and Strict OOXML read alike.
func DocxText(data []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", errors.New("not a valid .docx file (it is not a zip archive); re-save it from Word or export it as .txt")
	}
	var doc *zip.File
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			doc = f
			break
		}
	}
	if doc == nil {
		return "", errors.New("not a Word document: word/document.xml is missing from the archive")
	}
	rc, err := doc.Open()
	if err != nil {
		return "", fmt.Errorf("cannot open word/document.xml: %v", err)
	}
	defer rc.Close()
	return documentXMLText(io.LimitReader(rc, maxDocumentXML+1))
}

func documentXMLText(r io.Reader) (string, error) {
	counted := &countingReader{r: r}
	dec := xml.NewDecoder(counted)
	var out strings.Builder
	// paras are the paragraphs open now: a text box's paragraphs sit
	// inside the paragraph it is anchored in, and come out as lines of
	// their own, before it.
	paras := []*strings.Builder{{}}
	para := func() *strings.Builder { return paras[len(paras)-1] }
	paragraphs := 0
	var (
		inText   int  // depth inside w:t
		skip     int  // depth inside w:del, w:moveFrom, w:instrText, w:delText
		fallback int  // depth inside mc:Fallback
		inRun    int  // depth inside w:r
		inRunPr  int  // depth inside a run's w:rPr
		hidden   bool // the current run has w:vanish
	)
	shown := func() bool { return skip == 0 && fallback == 0 && !hidden }
	flush := func(p *strings.Builder) {
		if paragraphs > 0 {
			out.WriteByte('\n')
		}
		out.WriteString(strings.TrimRight(p.String(), " \t"))
		p.Reset()
		paragraphs++
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if counted.n > maxDocumentXML {
			return "", fmt.Errorf("word/document.xml is larger than %d MiB", maxDocumentXML>>20)
		}
		if err != nil {
			return "", fmt.Errorf("word/document.xml is not valid XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == mcNS && t.Name.Local == "Fallback" {
				fallback++
				continue
			}
			if !isWord(t.Name) {
				continue
			}
			switch t.Name.Local {
			case "p":
				paras = append(paras, &strings.Builder{})
			case "del", "moveFrom", "instrText", "delText":
				skip++
			case "t":
				inText++
			case "r":
				inRun++
				hidden = false
			case "rPr":
				if inRun > 0 {
					inRunPr++
				}
			case "vanish":
				if inRunPr > 0 && !off(t) {
					hidden = true
				}
			case "tab":
				if shown() {
					para().WriteByte('\t')
				}
			case "br", "cr":
				if shown() {
					para().WriteByte('\n')
				}
			}
		case xml.EndElement:
			if t.Name.Space == mcNS && t.Name.Local == "Fallback" {
				if fallback > 0 {
					fallback--
				}
				continue
			}
			if !isWord(t.Name) {
				continue
			}
			switch t.Name.Local {
			case "del", "moveFrom", "instrText", "delText":
				if skip > 0 {
					skip--
				}
			case "t":
				if inText > 0 {
					inText--
				}
			case "r":
				if inRun > 0 {
					inRun--
				}
				hidden = false
			case "rPr":
				if inRunPr > 0 {
					inRunPr--
				}
			case "p":
				p := para()
				if len(paras) > 1 {
					paras = paras[:len(paras)-1]
				}
				if skip == 0 && fallback == 0 {
					flush(p)
				}
			}
		case xml.CharData:
			if inText > 0 && shown() {
				para().Write(t)
			}
		}
	}
	for _, p := range paras {
		if p.Len() > 0 {
			flush(p)
		}
	}
	return strings.TrimRight(out.String(), "\n \t"), nil
}

// off reports whether a toggle property such as <w:vanish w:val="0"/> is
// switched off.
func off(t xml.StartElement) bool {
	for _, a := range t.Attr {
		if a.Name.Local == "val" {
			switch a.Value {
			case "0", "false", "off":
				return true
			}
		}
	}
	return false
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// WriteDocx writes a minimal but valid .docx holding one paragraph per
// element of paragraphs. It builds the sample batch's Word essays and test
// fixtures; Word and LibreOffice open its output.
func WriteDocx(w io.Writer, paragraphs []string) error {
	zw := zip.NewWriter(w)
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", documentXML(paragraphs)},
	}
	for _, f := range files {
		// A fixed timestamp keeps the archive's bytes, and so its sha256,
		// reproducible.
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: fixedZipTime})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(fw, f.body); err != nil {
			return err
		}
	}
	return zw.Close()
}

var fixedZipTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func documentXML(paragraphs []string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n")
	b.WriteString(`<w:document xmlns:w="` + wordNS + `"><w:body>`)
	for _, p := range paragraphs {
		b.WriteString(`<w:p><w:r><w:t xml:space="preserve">`)
		_ = xml.EscapeText(&b, []byte(p))
		b.WriteString(`</w:t></w:r></w:p>`)
	}
	b.WriteString(`</w:body></w:document>`)
	return b.String()
}
