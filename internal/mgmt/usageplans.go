package mgmt

// usagePlanRoutes is a placeholder until this resource group is implemented.
func (s *Server) usagePlanRoutes() []route { return nil }
