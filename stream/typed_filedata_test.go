package stream

import "testing"

// TestFileDataEmptyContentIsNil: Data is nil when the file is empty, as
// FileData's documentation says, also when fdData is present but holds
// only white space (an empty file's element, pretty-printed). Before,
// such an fdData gave a non-nil empty Data, unlike an absent or ""
// fdData, so `Data == nil` told two empty files apart.
func TestFileDataEmptyContentIsNil(t *testing.T) {
	for _, ev := range []Event{
		jsonEvent("FileData", `{"id":{"fdName":"f"}}`),
		jsonEvent("FileData", `{"id":{"fdName":"f"},"fdData":""}`),
		jsonEvent("FileData", `{"id":{"fdName":"f"},"fdData":null}`),
		jsonEvent("FileData", `{"id":{"fdName":"f"},"fdData":"\n"}`),
		jsonEvent("FileData", `{"id":{"fdName":"f"},"fdData":" \t\r\n "}`),
		xmlEvent("FileData", `<FileData><id><fdName>f</fdName></id><fdData></fdData></FileData>`),
		xmlEvent("FileData", "<FileData><id><fdName>f</fdName></id><fdData>\n      </fdData></FileData>"),
	} {
		fd, err := ev.FileData()
		if err != nil || fd.ID.Name != "f" {
			t.Errorf("%q: %+v, %v", ev.Body, fd, err)
			continue
		}
		if fd.Data != nil {
			t.Errorf("%q: Data = %#v, want nil (an empty file)", ev.Body, fd.Data)
		}
	}
	// A file with content still has it.
	fd, err := jsonEvent("FileData", `{"fdData":" aGk=\n"}`).FileData()
	if err != nil || string(fd.Data) != "hi" {
		t.Errorf("Data = %q, %v; want \"hi\"", fd.Data, err)
	}
}
