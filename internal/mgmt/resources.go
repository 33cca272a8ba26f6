package mgmt

// resourceRoutes is a placeholder until this resource group is implemented.
func (s *Server) resourceRoutes() []route { return nil }
