package handlers

import (
	"reflect"
	"testing"
)

// TestWords checks that every text of charts and embeds exists in every
// language offered: a missing one would show as nothing.
func TestWords(t *testing.T) {
	for _, lang := range langs {
		w, ok := wordsOf[lang]
		if !ok {
			t.Fatalf("no words for %s", lang)
		}
		v := reflect.ValueOf(w)
		for i := range v.NumField() {
			if v.Field(i).String() == "" {
				t.Errorf("%s: %s has no text", lang, v.Type().Field(i).Name)
			}
		}
	}
}
