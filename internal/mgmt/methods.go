package mgmt

// methodRoutes is a placeholder until this resource group is implemented.
func (s *Server) methodRoutes() []route { return nil }
