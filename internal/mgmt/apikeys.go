package mgmt

// apiKeyRoutes is a placeholder until this resource group is implemented.
func (s *Server) apiKeyRoutes() []route { return nil }
