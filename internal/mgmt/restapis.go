package mgmt

// restApiRoutes is a placeholder until this resource group is implemented.
func (s *Server) restApiRoutes() []route { return nil }
