package inputs

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestEssayIDs(t *testing.T) {
	cases := map[string]string{
		"Anna Berg":         "anna_berg",
		"  Åsa---Öberg!! ":  "asa---oberg",
		"José_Núñez (v2)":   "jose_nunez_v2",
		"STRAßE":            "strasse",
		"essay-07":          "essay-07",
		"Ab":                "ab-" + shortHash("Ab"),
		"???":               "essay-" + shortHash("???"),
		"a__b":              "a_b",
		"_leading_and_end-": "leading_and_end",
	}
	for in, want := range cases {
		if got := EssayID(in); got != want {
			t.Errorf("EssayID(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("x", 100)
	id := EssayID(long)
	if len(id) != 64 || !strings.HasSuffix(id, "-"+shortHash(long)) || !EssayIDPattern.MatchString(id) {
		t.Errorf("long id %q", id)
	}
	if EssayID(long) != id {
		t.Error("not stable")
	}
	if w := StudentWireID(id); len(w) != 36 || w != strings.ToUpper(w) {
		t.Errorf("wire id %q", w)
	}
	if w := StudentWireID("short_id"); w != "SHORT_ID" {
		t.Errorf("wire id %q", w)
	}
	a := AnchorID(strings.Repeat("anchor", 10))
	if len(AnchorWireID(a)) > 36 {
		t.Errorf("anchor wire id %q longer than 36", AnchorWireID(a))
	}
}

func TestDocxTextFromRealisticDocument(t *testing.T) {
	data, err := os.ReadFile("testdata/rich.docx")
	if err != nil {
		t.Fatal(err)
	}
	got, err := DocxText(data)
	if err != nil {
		t.Fatal(err)
	}
	want := "My Title\nName:\tKim\nSecond line & more\nKept inserted\nPage field above\nCell one\nCell two\nLast paragraph."
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// Word's text as Word shows it: a text box once (mc:Choice, not its
// mc:Fallback copy), a moved sentence at its new place only, no hidden
// text (but a run whose vanish is off), and Strict OOXML like the usual
// namespace.
func TestDocxTextAsWordShowsIt(t *testing.T) {
	for file, want := range map[string]string{
		"testdata/shown.docx":  "Text box line.\nBefore the box, after the box.\nStaying sentence.\nVisible shown again end.\nMoved sentence.",
		"testdata/strict.docx": "A Strict OOXML essay.\nSecond \tparagraph.",
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DocxText(data)
		if err != nil || got != want {
			t.Errorf("%s: %v\ngot  %q\nwant %q", file, err, got, want)
		}
	}
}

func TestDocxWriterRoundTrip(t *testing.T) {
	var b bytes.Buffer
	paras := []string{"One <tag> & \"quotes\"", "", "Three"}
	if err := WriteDocx(&b, paras); err != nil {
		t.Fatal(err)
	}
	got, err := DocxText(b.Bytes())
	if err != nil || got != "One <tag> & \"quotes\"\n\nThree" {
		t.Errorf("round trip = %q, %v", got, err)
	}
	var again bytes.Buffer
	_ = WriteDocx(&again, paras)
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("WriteDocx is not reproducible")
	}
}

func TestDocxErrors(t *testing.T) {
	if _, err := DocxText([]byte("not a zip")); err == nil || !strings.Contains(err.Error(), "not a valid .docx") {
		t.Errorf("err = %v", err)
	}
}

func TestParseAnchorsCSV(t *testing.T) {
	rows, errs := ParseAnchorsCSV(strings.NewReader("Anchor_ID,File_Name,Grade,notes\na1,one.txt,B,x\n,two.txt,A\nbad,,A\nq,three.txt,\n"))
	if len(rows) != 2 || rows[0].AnchorID != "a1" || rows[1].AnchorID != "" || rows[1].Line != 3 {
		t.Errorf("rows %+v", rows)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "line 4: file_name is empty") || !strings.Contains(errs[1].Error(), "line 5: grade of three.txt is empty") {
		t.Errorf("errs %v", errs)
	}
	_, errs = ParseAnchorsCSV(strings.NewReader("name,score\nx,1\n"))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "must name file_name") {
		t.Errorf("bad header: %v", errs)
	}
	_, errs = ParseAnchorsCSV(strings.NewReader("file_name,grade\n\"unterminated,B\n"))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "line 2") {
		t.Errorf("bad quoting: %v", errs)
	}
}

func TestParseComparisonsCSV(t *testing.T) {
	cs, err := ParseComparisonsCSV("c.csv", strings.NewReader("Winner,Loser\na,b\n\nb,c\n"))
	if err != nil || len(cs) != 2 || cs[1].Winner != "b" {
		t.Fatalf("%v %v", cs, err)
	}
	for body, want := range map[string]string{
		"winner,loser\na,b\nc,\n": "c.csv line 3",
		"winner,loser\na,a\n":     "c.csv line 2: \"a\" is compared with itself",
		"w,l\na,b\n":              "must name the columns winner and loser",
		"winner,loser\n":          "no comparisons",
		"":                        "empty file",
	} {
		if _, err := ParseComparisonsCSV("c.csv", strings.NewReader(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}

func FuzzDocxText(f *testing.F) {
	for _, p := range []string{"testdata/rich.docx", "testdata/shown.docx", "testdata/strict.docx", "testdata/good/students/essay_word.docx", "testdata/bad/students/broken.docx"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DocxText(data)
	})
}

func FuzzDocumentXML(f *testing.F) {
	f.Add(`<w:document xmlns:w="` + wordNS + `"><w:body><w:p><w:r><w:t>x</w:t></w:r></w:p></w:body></w:document>`)
	f.Add(`<w:p xmlns:w="` + wordNS + `"><w:del><w:t>a</w:t></w:p>`)
	f.Add(`<w:p xmlns:w="` + wordNS + `" xmlns:mc="` + mcNS + `"><w:r><mc:AlternateContent><mc:Choice><w:p><w:r><w:t>a</w:t></w:r></w:p></mc:Choice><mc:Fallback><w:p><w:t>a</w:t></w:p></mc:Fallback></mc:AlternateContent></w:r></w:p>`)
	f.Add(`<w:p xmlns:w="` + wordNS + `"><w:moveFrom><w:r><w:t>m</w:t></w:r></w:moveFrom><w:r><w:rPr><w:vanish/></w:rPr><w:t>h</w:t></w:r></w:p>`)
	f.Add(`<w:document xmlns:w="` + wordStrictNS + `"><w:body><w:p><w:r><w:t>s</w:t></w:r></w:p></w:body></w:document>`)
	f.Fuzz(func(t *testing.T, doc string) {
		_, _ = documentXMLText(strings.NewReader(doc))
	})
}

func FuzzParseAnchorsCSV(f *testing.F) {
	f.Add("anchor_id,file_name,grade\na,b.txt,B\n")
	f.Add("\ufeffFILE-NAME;pred_mode_grade\nx.txt;A\n")
	f.Add("file_name,grade\n\"a\nb\",C\n")
	f.Fuzz(func(t *testing.T, body string) {
		rows, errs := ParseAnchorsCSV(strings.NewReader(body))
		for _, r := range rows {
			if r.FileName == "" || r.Grade == "" || strings.ContainsAny(r.FileName, `/\`) {
				t.Fatalf("invalid row accepted: %+v", r)
			}
		}
		_ = errs
	})
}

func FuzzParseComparisonsCSV(f *testing.F) {
	f.Add("winner,loser\na,b\n")
	f.Add("winner;loser\na;b\n")
	f.Fuzz(func(t *testing.T, body string) {
		cs, err := ParseComparisonsCSV("f.csv", strings.NewReader(body))
		if err == nil && len(cs) == 0 {
			t.Fatal("no error and no comparisons")
		}
		for _, c := range cs {
			if c.Winner == "" || c.Loser == "" || c.Winner == c.Loser {
				t.Fatalf("invalid comparison accepted: %+v", c)
			}
		}
	})
}
