package awswire

// Usage is the wire shape of GetUsage/UpdateUsage (spec §2.4): "values" maps API key ids to
// [used, remaining] pairs, one per day, oldest first.
type Usage struct {
	UsagePlanID string                `json:"usagePlanId"`
	StartDate   string                `json:"startDate"`
	EndDate     string                `json:"endDate"`
	Position    string                `json:"position,omitempty"`
	Values      map[string][][2]int64 `json:"values"`
}

// UsageOf builds the wire shape.
func UsageOf(planID, start, end, position string, values map[string][][2]int64) Usage {
	if values == nil {
		values = map[string][][2]int64{}
	}
	return Usage{UsagePlanID: planID, StartDate: start, EndDate: end, Position: position, Values: values}
}
