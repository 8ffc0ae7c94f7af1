package client

import (
	"context"
	"strconv"
)

// ListPageSize is how many items List asks for at a time.
const ListPageSize = 500

// List reads every page of the collection at path (the API's
// `items`/`continue` paging) and returns all its items, decoded as T.
func List[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	var all []T
	next := ""
	for {
		var page struct {
			Items    []T    `json:"items"`
			Continue string `json:"continue"`
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
