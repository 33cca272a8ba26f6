package mgmt

// accountRoutes is a placeholder until this resource group is implemented.
func (s *Server) accountRoutes() []route { return nil }
