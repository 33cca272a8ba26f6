package mgmt

// tagRoutes is a placeholder until this resource group is implemented.
func (s *Server) tagRoutes() []route { return nil }
