package mgmt

// usageRoutes is a placeholder until this resource group is implemented.
func (s *Server) usageRoutes() []route { return nil }
