package mgmt

// stageRoutes is a placeholder until this resource group is implemented.
func (s *Server) stageRoutes() []route { return nil }
