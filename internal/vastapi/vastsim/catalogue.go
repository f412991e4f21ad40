package vastsim

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// ParseCatalogue reads the offers of Options.Catalogue from a search reply ({"offers": [...]})
// or from the vast CLI's --raw array.
func ParseCatalogue(b []byte) ([]vastapi.Offer, error) {
	var offers []vastapi.Offer
	if err := json.Unmarshal(b, &offers); err != nil {
		var wrapped struct {
			Offers []vastapi.Offer `json:"offers"`
		}
		if err2 := json.Unmarshal(b, &wrapped); err2 != nil || wrapped.Offers == nil {
			return nil, fmt.Errorf("want a JSON array of offers or {\"offers\": [...]}: %w", err)
		}
		offers = wrapped.Offers
	}
	if len(offers) == 0 {
		return nil, errors.New("holds no offers")
	}
	return offers, nil
}
