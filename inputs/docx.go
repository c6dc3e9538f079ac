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

const wordNS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

// maxDocumentXML caps the decompressed size of word/document.xml, so a
// crafted archive cannot exhaust memory.
const maxDocumentXML = 64 << 20

// DocxText extracts the text of a .docx file from word/document.xml: one line
// per paragraph (w:p), tabs and line breaks kept, deleted (tracked) text and
// field instructions left out.
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
	var para strings.Builder
	paragraphs := 0
	inText := 0 // depth inside w:t
	skip := 0   // depth inside w:del, w:instrText
	flush := func() {
		if paragraphs > 0 {
			out.WriteByte('\n')
		}
		out.WriteString(strings.TrimRight(para.String(), " \t"))
		para.Reset()
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
			if t.Name.Space != wordNS {
				continue
			}
			switch t.Name.Local {
			case "del", "instrText", "delText":
				skip++
			case "t":
				inText++
			case "tab":
				if skip == 0 {
					para.WriteByte('\t')
				}
			case "br", "cr":
				if skip == 0 {
					para.WriteByte('\n')
				}
			}
		case xml.EndElement:
			if t.Name.Space != wordNS {
				continue
			}
			switch t.Name.Local {
			case "del", "instrText", "delText":
				if skip > 0 {
					skip--
				}
			case "t":
				if inText > 0 {
					inText--
				}
			case "p":
				if skip == 0 {
					flush()
				}
			}
		case xml.CharData:
			if inText > 0 && skip == 0 {
				para.Write(t)
			}
		}
	}
	if para.Len() > 0 {
		flush()
	}
	return strings.TrimRight(out.String(), "\n \t"), nil
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
