package client

import (
	"context"
	"strconv"
)

// ListPageSize is how many items List asks for at a time.
const ListPageSize = 500

// List reads every page of the collection at path (the API's
// `items`/`continue` paging) and returns all its items.
func (c *Client) List(ctx context.Context, path string) ([]map[string]any, error) {
	var all []map[string]any
	next := ""
	for {
		var page struct {
			Items    []map[string]any `json:"items"`
			Continue string           `json:"continue"`
		}
		if err := c.Do(ctx, "GET", path+Query("limit", strconv.Itoa(ListPageSize), "continue", next), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.Continue == "" {
			return all, nil
		}
		next = page.Continue
	}
}
